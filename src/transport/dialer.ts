/**
 * Dialers open a raw byte stream to an endpoint. Everything above (HTTP to the Docker
 * API, h2c to BuildKit) is layered on one of these, so a new way to reach an engine
 * (ssh, docker exec stdio) is a new dialer and nothing else.
 */
import net from "node:net";
import type { Duplex } from "node:stream";
import { HlnError } from "../errors.js";
import { unreachable } from "./node-error.js";

export interface DialOptions {
  signal?: AbortSignal;
}

export interface Dialer {
  /** Human-readable endpoint, used in every message about it (e.g. `unix:///var/run/docker.sock`). */
  readonly endpoint: string;
  /** Opens a new connection. Rejects with E_ENGINE_UNREACHABLE naming the endpoint. */
  dial(options?: DialOptions): Promise<Duplex>;
}

export interface NetDialerOptions {
  /** Give up connecting after this long. Defaults to 2000 ms. */
  connectTimeoutMs?: number;
}

/** A dialer for a unix socket path. */
export function unixDialer(path: string, options: NetDialerOptions = {}): Dialer {
  const endpoint = `unix://${path}`;
  return {
    endpoint,
    dial: (o) => netDial(endpoint, { path }, options.connectTimeoutMs ?? 2000, o?.signal),
  };
}

/** A dialer for plain TCP. */
export function tcpDialer(host: string, port: number, options: NetDialerOptions = {}): Dialer {
  const endpoint = `tcp://${host}:${port}`;
  return {
    endpoint,
    dial: (o) => netDial(endpoint, { host, port }, options.connectTimeoutMs ?? 2000, o?.signal),
  };
}

function netDial(
  endpoint: string,
  target: net.NetConnectOpts,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new HlnError("E_ABORTED", "cancelled", { cause: signal.reason }));
      return;
    }
    const socket = net.connect(target);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(endpoint, Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    }, timeoutMs);
    const onAbort = () => {
      socket.destroy();
      finish();
      reject(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
    };
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
    };
    const onError = (err: Error) => {
      finish();
      reject(unreachable(endpoint, err));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once("connect", () => {
      finish();
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
