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
  /**
   * Fails the request when no response head arrives in time (for an upgrade: the 101).
   * Defaults to none.
   */
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
    const ms = o.timeoutMs;
    // A timer of our own rather than req.setTimeout: that one leaves a listener on the
    // socket, and a connection shared by a whole run (ssh) gathers one per request.
    // Named apart from a connect timeout ("timed out"): this one means connected, then silent.
    const timer = setTimeout(
      () =>
        req.destroy(
          new HlnError(
            "E_ENGINE_UNREACHABLE",
            `cannot reach ${dialer.endpoint}: no answer to ${o.method ?? "GET"} ${o.path} within ${ms} ms`,
          ),
        ),
      ms,
    );
    const clear = () => clearTimeout(timer);
    req.once("close", clear);
    req.once("response", (res) => {
      res.once("end", clear);
      res.once("close", clear);
    });
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
    req.once("response", (res) =>
      readResponse(res, dialer, o).then((r) => {
        socket.destroy();
        resolve(r);
      }, reject),
    );
  });
}

/** Reads a whole response; its errors named as the request's. */
function readResponse(
  res: http.IncomingMessage,
  dialer: Dialer,
  o: HttpRequestOptions,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.once("error", (err) => reject(wrap(dialer, o, err)));
    res.once("end", () =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
    );
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
      // The upgrade outlives the request: the caller's signal and the bound below stop
      // the wait for the 101 only, never the tunnel it hands over (an idle session is
      // normal, and a socket timeout left armed would cut it).
      signal: undefined,
      timeoutMs: undefined,
    });
    // An engine (or a proxy in front of it) can take the request and never answer; the
    // wait then ends with the caller's signal, or with the bound, naming what was asked.
    const onAbort = () =>
      req.destroy(new HlnError("E_ABORTED", "cancelled", { cause: o.signal?.reason }));
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              req.destroy(
                new HlnError(
                  "E_ENGINE_UNREACHABLE",
                  `${dialer.endpoint} did not answer ${o.method ?? "POST"} ${o.path} within ${o.timeoutMs} ms`,
                ),
              ),
            o.timeoutMs,
          );
    const settled = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
    };
    if (o.signal?.aborted) onAbort();
    req.once("error", (err) => {
      settled();
      socket.destroy();
      reject(wrap(dialer, o, err));
    });
    req.once("upgrade", (_res, upgraded, head: Buffer) => {
      settled();
      if (head.length > 0) upgraded.unshift(head);
      resolve(upgraded);
    });
    req.once("response", (res) => {
      settled();
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

/**
 * One connection that carries request after request (HTTP/1.1 keep-alive), for dialers
 * whose connections are costly to open: over ssh each connection is a process at both
 * ends. Requests take turns, so a run's plain requests all share one connection; a
 * request waits while the one before it reads its response. The connection is dialed
 * when first needed, and again after it closes. Upgrades never use it: they consume
 * their connection (see `httpUpgrade`).
 */
export class SharedHttpConnection {
  readonly #dialer: Dialer;
  #stream: Duplex | undefined;
  #busy = false;
  #closed = false;
  readonly #queue: { go: () => void; fail: (err: Error) => void }[] = [];

  constructor(dialer: Dialer) {
    this.#dialer = dialer;
  }

  /** Sends one request and reads the whole response. */
  async request(o: HttpRequestOptions): Promise<HttpResponse> {
    const stream = await this.#take(o.signal);
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = this.#start(stream, o);
      req.once("error", (err) => reject(wrap(this.#dialer, o, err)));
      req.once("response", (res) => readResponse(res, this.#dialer, o).then(resolve, reject));
    });
  }

  /** Sends one request and hands back the response as a stream; the next request waits for its end. */
  async stream(o: HttpRequestOptions): Promise<http.IncomingMessage> {
    const stream = await this.#take(o.signal);
    return new Promise((resolve, reject) => {
      const req = this.#start(stream, o);
      req.once("error", (err) => reject(wrap(this.#dialer, o, err)));
      req.once("response", resolve);
    });
  }

  /** Closes the connection; requests still waiting for their turn fail. */
  close(): void {
    this.#closed = true;
    this.#stream?.destroy();
    this.#stream = undefined;
    for (const w of this.#queue.splice(0))
      w.fail(new HlnError("E_ABORTED", `the connection to ${this.#dialer.endpoint} was closed`));
  }

  /** Runs `o` on the connection and hands the connection on once the exchange is over. */
  #start(stream: Duplex, o: HttpRequestOptions): http.ClientRequest {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      stream.off("free", release);
      stream.off("close", release);
      (stream as { unref?(): void }).unref?.();
      this.#busy = false;
      this.#queue.shift()?.go();
    };
    // Node's HTTP client emits "free" on a connection it keeps alive once the response
    // has ended; a connection it gave up on closes instead.
    stream.once("free", release);
    stream.once("close", release);
    const req = start(this.#dialer, stream, {
      ...o,
      headers: { Connection: "keep-alive", ...o.headers },
    });
    req.once("error", () => stream.destroy());
    return req;
  }

  /**
   * Dials for whoever asked first, but the connection serves every request after it: the
   * asker's signal may cancel the dial, not end the connection once it is up.
   */
  async #dial(signal: AbortSignal | undefined): Promise<Duplex> {
    const dialing = new AbortController();
    const onAbort = () => dialing.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#dialer.dial({ signal: dialing.signal });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async #take(signal: AbortSignal | undefined): Promise<Duplex> {
    if (this.#busy) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#queue.splice(this.#queue.indexOf(waiter), 1);
          reject(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
        };
        const waiter = {
          go: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
          fail: (err: Error) => {
            signal?.removeEventListener("abort", onAbort);
            reject(err);
          },
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#queue.push(waiter);
      });
    }
    this.#busy = true;
    try {
      if (this.#closed)
        throw new HlnError("E_ABORTED", `the connection to ${this.#dialer.endpoint} was closed`);
      let stream = this.#stream;
      if (!stream || stream.destroyed) {
        stream = await this.#dial(signal);
        const s = stream;
        // An idle connection can fail (ssh drops); nobody is reading it then, and the
        // next request dials again.
        s.on("error", () => {});
        s.once("close", () => {
          if (this.#stream === s) this.#stream = undefined;
        });
        this.#stream = s;
      }
      (stream as { ref?(): void }).ref?.();
      return stream;
    } catch (err) {
      this.#busy = false;
      this.#queue.shift()?.go();
      throw err;
    }
  }
}

/**
 * Sends `GET /_ping` on a fresh connection and reads the answer without Node's HTTP
 * client, leaving the connection as it found it for the next request. Over ssh this is
 * what proves that the command at the far end (`docker system dial-stdio`) runs and
 * reaches its daemon: the command prints nothing of its own.
 */
export function pingStream(
  stream: Duplex,
  endpoint: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const signal = options.signal;
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err?: Error) => {
      stream.off("readable", onReadable);
      stream.off("error", onError);
      stream.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    // The stream is half way through an exchange: it cannot be used again.
    const onAbort = () => {
      finish(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
      stream.destroy();
    };
    const onError = (err: Error) => finish(unreachable(endpoint, err));
    const onClose = () =>
      finish(
        new HlnError("E_ENGINE_UNREACHABLE", `cannot reach ${endpoint}: the connection closed`),
      );
    const onReadable = () => {
      for (let c = stream.read() as Buffer | null; c; c = stream.read() as Buffer | null)
        buf = Buffer.concat([buf, c]);
      const answer = parsePingAnswer(buf);
      if (answer === undefined) {
        if (buf.length > 65536) finish(notDocker(endpoint, "an answer that is not HTTP"));
        return;
      }
      if (answer.rest.length > 0) stream.unshift(answer.rest);
      if (answer.status === 200) finish();
      else finish(notDocker(endpoint, `HTTP ${answer.status || "?"}`));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("readable", onReadable);
    stream.once("error", onError);
    stream.once("close", onClose);
    stream.write("GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
  });
}

/** A peer whose /_ping answer says it is not a Docker engine. */
export function notDocker(endpoint: string, what: string): HlnError {
  return new HlnError(
    "E_ENGINE_UNREACHABLE",
    `${endpoint} is not a Docker engine: /_ping answered ${what}`,
  );
}

/**
 * The status of a complete HTTP/1.1 answer at the start of `buf` and the bytes after it,
 * or undefined while it is incomplete. Docker's /_ping answer is tiny: Go gives it a
 * Content-Length; a proxy in between may chunk it.
 */
export function parsePingAnswer(buf: Buffer): { status: number; rest: Buffer } | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const body = end + 4;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length !== undefined) {
    const stop = body + Number(length);
    return buf.length < stop ? undefined : { status, rest: buf.subarray(stop) };
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    // The last chunk starts a line: search from the CRLF that ends the head.
    const last = buf.indexOf("\r\n0\r\n\r\n", body - 2);
    if (last < 0) return undefined;
    return { status, rest: buf.subarray(last + 7) };
  }
  return { status, rest: buf.subarray(body) };
}
