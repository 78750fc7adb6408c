/**
 * HTTP/2 with prior knowledge over any byte stream, in both directions: a client
 * session for calling BuildKit, and a server for the session tunnel, where BuildKit is
 * the HTTP/2 client and we serve its callbacks.
 */
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import { debuglog } from "node:util";
import { HlnError } from "../errors.js";

const debug = debuglog("hln:transport");

/**
 * BuildKit sends and accepts messages up to 16 MiB (containerd's defaults); the large
 * windows keep file transfers from stalling on flow control.
 */
const settings: http2.Settings = {
  initialWindowSize: 4 << 20,
  maxFrameSize: 1 << 20,
  maxHeaderListSize: 1 << 20,
};

/**
 * While calls are in flight the client pings the peer this often, and gives up on a
 * connection whose ping goes unanswered for two rounds. A header block nghttp2 cannot
 * decode (one header field over 64 KiB, e.g. an engine error quoting a very long
 * command) makes it end the session without telling Node, and every pending call would
 * wait forever; a peer that stopped reading ends the same way. Go's HTTP/2 server
 * answers pings from its read loop, however busy the build is.
 */
const pingIntervalMs = 10_000;

/**
 * A lazily connected HTTP/2 client session over a stream the `connect` function opens.
 * It has the shape connect-node expects of a session manager, so a gRPC transport can
 * run on it; a closed session is replaced on the next request.
 */
export class H2cSessionManager {
  readonly authority = "http://buildkit";
  #session: http2.ClientHttp2Session | undefined;
  #pending: Promise<http2.ClientHttp2Session> | undefined;
  #closed = false;
  #drops = 0;
  #lastDrop = "";
  #lastDropError: HlnError | undefined;

  /**
   * @param repeated Header names whose values must go out as repeated header fields.
   *   The Fetch `Headers` that connect-es hands over join appended values with ", ",
   *   while gRPC servers read each field as one metadata value; these are split back.
   *   Only for headers whose values never contain ", " (e.g. gRPC method paths).
   */
  constructor(
    private readonly connect: () => Promise<Duplex>,
    private readonly endpoint: string,
    private readonly repeated: ReadonlySet<string> = new Set(),
    /**
     * How long a new connection may stay silent before the peer's HTTP/2 SETTINGS arrive
     * (a server sends them first thing, RFC 9113 3.4). Without it a peer that took the
     * connection and never speaks holds every call forever. Default: no bound.
     */
    private readonly answerTimeoutMs?: number,
  ) {}

  #inflight = 0;

  async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    const session = await this.#get();
    const out: http2.OutgoingHttpHeaders = { ...headers, ":method": method, ":path": path };
    for (const name of this.repeated) {
      const v = out[name];
      if (typeof v === "string" && v.includes(", ")) out[name] = v.split(", ");
    }
    const stream = session.request(out, options);
    this.#inflight++;
    stream.once("close", () => this.#inflight--);
    return stream;
  }

  notifyResponseByteRead(_stream: http2.ClientHttp2Stream): void {}

  /**
   * How many times the connection ended without `close()`: a caller compares the count
   * before and after a call to tell "the engine went away" from "the call failed".
   */
  get drops(): number {
    return this.#drops;
  }

  /** Why the connection last ended without `close()`. */
  get lastDrop(): string {
    return this.#lastDrop;
  }

  /**
   * Set when the last drop was a connection that never answered at all, rather than one
   * lost while in use: the error says so, naming the endpoint and the bound.
   */
  get lastDropError(): HlnError | undefined {
    return this.#lastDropError;
  }

  /** Closes the connection; streams still open are reset. */
  close(): void {
    this.#closed = true;
    this.#session?.destroy();
    this.#session = undefined;
  }

  async #get(): Promise<http2.ClientHttp2Session> {
    if (this.#closed) throw new HlnError("E_INTERNAL", `connection to ${this.endpoint} is closed`);
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    this.#pending ??= this.#open().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #open(): Promise<http2.ClientHttp2Session> {
    const stream = await this.connect();
    const session = http2.connect(this.authority, {
      createConnection: () => stream,
      settings,
      maxSessionMemory: 64,
    });
    session.setLocalWindowSize?.(16 << 20);
    let why = "";
    session.on("error", (err) => {
      debug("client session %s: %s", this.endpoint, err.message);
      why ||=
        (err as NodeJS.ErrnoException).code === "ECONNRESET" ? "connection reset" : err.message;
    });
    stream.once("error", (err) => {
      why ||= err.message;
    });
    let opened = false;
    session.once("close", () => {
      if (this.#session === session) this.#session = undefined;
      if (this.#closed || !opened) return;
      this.#drops++;
      this.#lastDrop = why || "the engine closed the connection";
      this.#lastDropError = undefined;
    });
    if (this.answerTimeoutMs !== undefined) {
      try {
        await this.#firstAnswer(session, stream, this.answerTimeoutMs);
      } catch (err) {
        // Counted as a drop, so callers report this cause rather than what their call saw.
        if (!this.#closed) {
          this.#drops++;
          this.#lastDrop = (err as Error).message;
          this.#lastDropError = err instanceof HlnError ? err : undefined;
        }
        throw err;
      }
    }
    opened = true;
    this.#session = session;
    this.#watch(session, (reason) => {
      why ||= reason;
    });
    return session;
  }

  /** Ends `session` when its pings go unanswered while calls wait on it (see pingIntervalMs). */
  #watch(session: http2.ClientHttp2Session, onDead: (reason: string) => void): void {
    let unanswered = 0;
    const timer = setInterval(() => {
      if (session.destroyed || session.closed) return clearInterval(timer);
      if (this.#inflight === 0) {
        unanswered = 0;
        return;
      }
      if (unanswered >= 2) {
        clearInterval(timer);
        const reason = `the engine's HTTP/2 answers stopped (no ping answer within ${(2 * pingIntervalMs) / 1000} s; an answer whose headers exceed HTTP/2's limits ends a connection this way)`;
        debug("client session %s: %s", this.endpoint, reason);
        onDead(reason);
        session.destroy(new Error(reason));
        return;
      }
      unanswered++;
      try {
        session.ping((err) => {
          if (!err) unanswered = 0;
        });
      } catch {
        // A session nghttp2 has already torn down refuses new pings; the count goes on.
      }
    }, pingIntervalMs);
    timer.unref();
    session.once("close", () => clearInterval(timer));
  }

  /** Resolves once the peer's first SETTINGS arrive; destroys the session when they do not. */
  #firstAnswer(session: http2.ClientHttp2Session, stream: Duplex, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        session.off("remoteSettings", onSettings);
        session.off("close", onClose);
        session.off("error", onError);
        stream.off("error", onError);
        if (err) {
          session.destroy();
          reject(err);
        } else resolve();
      };
      const onSettings = () => done();
      // A TLS alert (a client certificate the server wants) arrives as an error on the
      // stream; the session's own close waits on a socket that may never end.
      const onError = (err: Error) => done(err);
      const onClose = () =>
        done(
          new HlnError(
            "E_ENGINE_UNREACHABLE",
            `${this.endpoint} closed the connection before answering`,
          ),
        );
      const timer = setTimeout(
        () =>
          done(
            new HlnError(
              "E_ENGINE_UNREACHABLE",
              `${this.endpoint} took the connection but sent no HTTP/2 answer within ${ms} ms`,
            ),
          ),
        ms,
      );
      session.once("remoteSettings", onSettings);
      session.once("close", onClose);
      session.once("error", onError);
      stream.once("error", onError);
    });
  }
}

export type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface H2cServer {
  /** Resolves when the peer or we closed the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Serves HTTP/2 with prior knowledge on an already-open stream. */
export function serveH2c(stream: Duplex, handler: H2Handler): H2cServer {
  const server = http2.createServer({ settings, maxSessionMemory: 64 }, handler);
  let session: http2.ServerHttp2Session | undefined;
  const closed = new Promise<void>((resolve) => {
    server.on("session", (s) => {
      session = s;
      // The window can only be set once the session is up; a stream handed over while
      // still connecting gets it on "connect".
      const widen = () => s.setLocalWindowSize(16 << 20);
      if (s.connecting) s.once("connect", widen);
      else widen();
      s.on("error", (err) => debug("server session: %s", err.message));
      s.once("close", () => resolve());
    });
    stream.once("close", () => resolve());
  });
  // Node wraps a non-socket Duplex itself when it is handed over as a connection.
  server.emit("connection", stream);
  return {
    closed,
    close() {
      if (session && !session.destroyed) session.close();
      setTimeout(() => {
        session?.destroy();
        stream.destroy();
      }, 1000).unref();
    },
  };
}
