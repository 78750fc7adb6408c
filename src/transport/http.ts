/**
 * HTTP/1.1 over a Dialer: plain requests for the Docker Engine API, and the upgrade
 * Docker uses to hand a connection over to BuildKit (`POST /grpc`, `POST /session`).
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { HlnError } from "../errors.js";
import type { Dialer } from "./dialer.js";
import { unreachable } from "./node-error.js";

export interface HttpRequestOptions {
  method?: string;
  path: string;
  /** Header values given as arrays are sent as repeated header lines. */
  headers?: Record<string, string | string[]>;
  body?: Uint8Array | string | NodeJS.ReadableStream;
  signal?: AbortSignal;
  /** Fails the request when no response head arrives in time. Defaults to none. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function start(dialer: Dialer, socket: Duplex, o: HttpRequestOptions): http.ClientRequest {
  const headers: http.OutgoingHttpHeaders = { Host: "docker", ...(o.headers ?? {}) };
  const req = http.request({
    method: o.method ?? "GET",
    path: o.path,
    headers,
    createConnection: () => socket as unknown as import("node:net").Socket,
    signal: o.signal,
  });
  if (o.timeoutMs !== undefined) {
    req.setTimeout(o.timeoutMs, () =>
      req.destroy(unreachable(dialer.endpoint, Object.assign(new Error(), { code: "ETIMEDOUT" }))),
    );
  }
  const body = o.body;
  if (body === undefined) req.end();
  else if (typeof body === "string" || body instanceof Uint8Array) req.end(body);
  else body.pipe(req);
  return req;
}

function wrap(dialer: Dialer, o: HttpRequestOptions, err: unknown): HlnError {
  if (err instanceof HlnError) return err;
  if (o.signal?.aborted) return new HlnError("E_ABORTED", "cancelled", { cause: o.signal.reason });
  return unreachable(`${dialer.endpoint} (${o.method ?? "GET"} ${o.path})`, err);
}

/** Sends one request on a fresh connection and reads the whole response. */
export async function httpRequest(dialer: Dialer, o: HttpRequestOptions): Promise<HttpResponse> {
  const socket = await dialer.dial({ signal: o.signal });
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = start(dialer, socket, { ...o, headers: { Connection: "close", ...o.headers } });
    req.once("error", (err) => {
      socket.destroy();
      reject(wrap(dialer, o, err));
    });
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("error", (err) => reject(wrap(dialer, o, err)));
      res.once("end", () => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
  });
}

/** Sends one request and hands back the response as a stream (logs, events, exports). */
export async function httpStream(
  dialer: Dialer,
  o: HttpRequestOptions,
): Promise<http.IncomingMessage> {
  const socket = await dialer.dial({ signal: o.signal });
  return new Promise((resolve, reject) => {
    const req = start(dialer, socket, o);
    req.once("error", (err) => {
      socket.destroy();
      reject(wrap(dialer, o, err));
    });
    req.once("response", (res) => {
      res.once("close", () => socket.destroy());
      resolve(res);
    });
  });
}

/**
 * Asks the server to switch protocols and returns the raw connection. Docker answers
 * `101 Switching Protocols` and then carries a byte tunnel (moby: router/grpc, router/session).
 * The peer's first bytes can arrive in the same read as the 101; Node hands them over as
 * `head`, and they must be put back or the HTTP/2 layer above sees a broken preface.
 */
export async function httpUpgrade(
  dialer: Dialer,
  o: HttpRequestOptions & { protocol: string },
): Promise<Duplex> {
  const socket = await dialer.dial({ signal: o.signal });
  return new Promise<Duplex>((resolve, reject) => {
    const req = start(dialer, socket, {
      ...o,
      method: o.method ?? "POST",
      headers: { Connection: "Upgrade", Upgrade: o.protocol, ...o.headers },
      // The upgrade outlives the request; the caller's signal governs the tunnel instead.
      signal: undefined,
    });
    req.once("error", (err) => {
      socket.destroy();
      reject(wrap(dialer, o, err));
    });
    req.once("upgrade", (_res, upgraded, head: Buffer) => {
      if (head.length > 0) upgraded.unshift(head);
      resolve(upgraded);
    });
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => {
        socket.destroy();
        const text = Buffer.concat(chunks).toString("utf8").trim();
        reject(
          new HlnError(
            "E_ENGINE_PROTOCOL",
            `${dialer.endpoint} refused to upgrade ${o.path} to ${o.protocol}: HTTP ${res.statusCode}${text ? ` ${text}` : ""}`,
          ),
        );
      });
    });
  });
}
