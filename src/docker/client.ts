/**
 * A thin Docker Engine API client on node:http. It covers what hln uses and nothing
 * more. Each call is one HTTP request on a fresh connection from the dialer, except
 * where connections are costly (ssh): there every plain request of a run goes through
 * one kept-alive connection, and only upgrades open their own.
 */
import type { Duplex } from "node:stream";
import { HlnError, type HlnErrorCode, type HlnErrorOptions } from "../errors.js";
import type { Dialer } from "../transport/dialer.js";
import type { HttpRequestOptions } from "../transport/http.js";
import {
  httpRequest,
  httpStream,
  httpUpgrade,
  notDocker,
  SharedHttpConnection,
} from "../transport/http.js";

export interface DockerVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
}

export interface DockerInfo {
  /** The engine's own identity, stable across restarts: what app state is kept under. */
  ID?: string;
  Name?: string;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  ServerVersion?: string;
  OperatingSystem?: string;
  NCPU?: number;
  MemTotal?: number;
  Swarm?: SwarmInfo;
}

/** The engine's place in a swarm, as `/info` reports it. */
export interface SwarmInfo {
  /** "inactive" | "pending" | "active" | "error" | "locked" */
  LocalNodeState?: string;
  /** True on a manager: only a manager takes service, secret and network changes. */
  ControlAvailable?: boolean;
  NodeID?: string;
  NodeAddr?: string;
  Nodes?: number;
  Managers?: number;
  Cluster?: { ID?: string };
  RemoteManagers?: { NodeID: string; Addr: string }[] | null;
}

export interface DockerClient {
  readonly endpoint: string;
  /** `GET /_ping`; resolves with the API version the daemon announces. */
  ping(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string>;
  version(options?: { signal?: AbortSignal }): Promise<DockerVersion>;
  info(options?: { signal?: AbortSignal }): Promise<DockerInfo>;
  /** A JSON API call; non-2xx answers become E_ENGINE_PROTOCOL errors with the daemon's message. */
  json<T>(
    method: string,
    path: string,
    options?: { body?: unknown; signal?: AbortSignal; headers?: Record<string, string> },
  ): Promise<T>;
  /**
   * A call whose answer is a stream (image save, push progress). Non-2xx answers become
   * E_ENGINE_PROTOCOL errors with the daemon's message.
   */
  stream(
    method: string,
    path: string,
    options?: {
      headers?: Record<string, string>;
      body?: NodeJS.ReadableStream;
      signal?: AbortSignal;
      /**
       * Sends the request on a connection of its own even when the client shares one (ssh):
       * a stream that lasts (logs -f, wait, a stop that waits out its grace period) would
       * otherwise hold the shared connection and every other request would queue behind it.
       */
      own?: boolean;
    },
  ): Promise<import("node:http").IncomingMessage>;
  /**
   * Opens an upgraded connection: `/grpc` and `/session` switch to h2c (the default),
   * an exec start to `tcp` with a JSON body.
   */
  upgrade(
    path: string,
    headers: Record<string, string | string[]>,
    signal?: AbortSignal,
    /** `timeoutMs` bounds the wait for the 101, not the connection it hands over. */
    options?: { protocol?: string; body?: unknown; timeoutMs?: number },
  ): Promise<Duplex>;
  /** Closes the connections the client keeps (and the dialer's shared ssh connection). */
  close(): void;
}

/**
 * A non-2xx answer of the daemon. `status` lets a caller treat the answers it expects
 * (304 already started, 404 no such object) as outcomes rather than failures.
 */
export class DockerHttpError extends HlnError {
  readonly status: number;

  constructor(
    status: number,
    message: string,
    code: HlnErrorCode = "E_ENGINE_PROTOCOL",
    options: HlnErrorOptions = {},
  ) {
    super(code, message, options);
    this.status = status;
  }
}

/** The HTTP status of a daemon's non-2xx answer, or undefined for any other failure. */
export function httpStatus(err: unknown): number | undefined {
  return err instanceof DockerHttpError ? err.status : undefined;
}

export interface DockerClientOptions {
  /**
   * Bounds the wait for the daemon's answer to JSON calls and for the 101 of upgrades,
   * once connected: a daemon (or a proxy in front of it) that takes a request and never
   * answers would otherwise hold hln forever. Streams (image save, load, push) are not
   * bounded: they take as long as the data does, and end on the caller's signal.
   * Default: no bound.
   */
  answerTimeoutMs?: number;
}

export function createDockerClient(
  dialer: Dialer,
  options: DockerClientOptions = {},
): DockerClient {
  const shared = dialer.keepAlive ? new SharedHttpConnection(dialer) : undefined;
  const request = shared
    ? (o: HttpRequestOptions) => shared.request(o)
    : (o: HttpRequestOptions) => httpRequest(dialer, o);
  const stream = shared
    ? (o: HttpRequestOptions) => shared.stream(o)
    : (o: HttpRequestOptions) => httpStream(dialer, o);

  async function json<T>(
    method: string,
    path: string,
    o: {
      body?: unknown;
      signal?: AbortSignal;
      timeoutMs?: number;
      headers?: Record<string, string>;
    } = {},
  ): Promise<T> {
    const res = await request({
      method,
      path,
      signal: o.signal,
      timeoutMs: o.timeoutMs ?? options.answerTimeoutMs,
      headers: {
        ...(o.body === undefined ? {} : { "Content-Type": "application/json" }),
        ...o.headers,
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = res.body.toString("utf8");
    if (res.status < 200 || res.status > 299) {
      let message = text.trim();
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {}
      throw new DockerHttpError(
        res.status,
        `${dialer.endpoint}: ${method} ${path}: HTTP ${res.status}: ${message}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    endpoint: dialer.endpoint,
    async ping(o = {}) {
      const res = await request({
        path: "/_ping",
        signal: o.signal,
        timeoutMs: o.timeoutMs ?? 2000,
      });
      if (res.status !== 200) throw notDocker(dialer.endpoint, `HTTP ${res.status}`);
      return String(res.headers["api-version"] ?? "");
    },
    version: (o = {}) => json<DockerVersion>("GET", "/version", o),
    info: (o = {}) => json<DockerInfo>("GET", "/info", o),
    json: (method, path, o) => json(method, path, o),
    async stream(method, path, o = {}) {
      const res = await (o.own ? (r: HttpRequestOptions) => httpStream(dialer, r) : stream)({
        method,
        path,
        headers: o.headers,
        body: o.body,
        signal: o.signal,
      });
      const status = res.statusCode ?? 0;
      if (status >= 200 && status <= 299) return res;
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString("utf8").trim();
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {}
      throw new DockerHttpError(
        status,
        `${dialer.endpoint}: ${method} ${path}: HTTP ${status}: ${message}`,
      );
    },
    upgrade: (path, headers, signal, o = {}) =>
      httpUpgrade(dialer, {
        path,
        signal,
        timeoutMs: o.timeoutMs ?? options.answerTimeoutMs,
        protocol: o.protocol ?? "h2c",
        headers:
          o.body === undefined ? headers : { "Content-Type": "application/json", ...headers },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      }),
    close() {
      shared?.close();
      dialer.close?.();
    },
  };
}

/** True when the daemon keeps images in containerd (the "containerd image store"). */
export function usesContainerdStore(info: DockerInfo): boolean {
  return (info.DriverStatus ?? []).some(
    ([k, v]) => k === "driver-type" && v.startsWith("io.containerd.snapshotter"),
  );
}
