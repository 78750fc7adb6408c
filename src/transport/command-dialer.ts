/**
 * A dialer whose connections are a command's stdin and stdout, as `ssh host docker
 * system dial-stdio` gives. Each dial starts the command afresh; closing the stream ends
 * it. The system binary (ssh) is what the user configured, keys, agent and known_hosts
 * included, which is why it is spawned rather than reimplemented.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { Duplex, finished } from "node:stream";
import { HlnError } from "../errors.js";
import type { Dialer, DialOptions } from "./dialer.js";
import { StderrTail } from "./stderr-tail.js";

export interface CommandDialerOptions {
  /** Names the endpoint in messages, e.g. `ssh://root@10.0.0.2`. */
  endpoint: string;
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Turns what the command printed on stderr, when it exits before the caller is done,
   * into the reason shown to the user. By default: its last non-empty line.
   */
  explain?: (stderr: string, exitCode: number | null) => string;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export function commandDialer(options: CommandDialerOptions): Dialer {
  return {
    endpoint: options.endpoint,
    dial: (o) => dialCommand(options, o),
  };
}

function dialCommand(options: CommandDialerOptions, o: DialOptions = {}): Promise<Duplex> {
  if (o.signal?.aborted)
    return Promise.reject(new HlnError("E_ABORTED", "cancelled", { cause: o.signal.reason }));
  const [cmd, ...args] = options.argv;
  if (!cmd) return Promise.reject(new HlnError("E_INTERNAL", "commandDialer: empty argv"));
  return new Promise((resolve, reject) => {
    let child: Child;
    let spawned = false;
    try {
      child = spawn(cmd, args, {
        env: options.env ?? process.env,
        stdio: ["pipe", "pipe", "pipe"],
      });
    } catch (err) {
      reject(
        new HlnError("E_ENGINE_UNREACHABLE", `cannot reach ${options.endpoint}: ${String(err)}`),
      );
      return;
    }
    child.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "ENOENT" ? `${cmd} is not installed (not on PATH)` : err.message;
      const e = new HlnError("E_ENGINE_UNREACHABLE", `cannot reach ${options.endpoint}: ${why}`);
      // Before "spawn" nobody holds the stream to hear its error; the rejection says it.
      if (spawned) stream.destroy(e);
      else stream.destroy();
      reject(e);
    });
    const stream = new CommandStream(child, options);
    const onAbort = () => {
      reject(new HlnError("E_ABORTED", "cancelled", { cause: o.signal?.reason }));
      stream.destroy();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    // One signal often spans many dials; a listener left behind per dial would leak.
    stream.once("close", () => o.signal?.removeEventListener("abort", onAbort));
    // The command gives no "connected" event; the first exchange tells success apart.
    child.once("spawn", () => {
      spawned = true;
      resolve(stream);
    });
  });
}

/**
 * stdin/stdout as one Duplex. It also answers the socket methods Node's HTTP client
 * calls (setTimeout, setNoDelay, setKeepAlive), so HTTP can run over it.
 */
class CommandStream extends Duplex {
  readonly #child: Child;
  readonly #stderr = new StderrTail();
  #idle: NodeJS.Timeout | undefined;
  #idleMs = 0;
  #closed = false;

  constructor(child: Child, options: CommandDialerOptions) {
    super({ allowHalfOpen: false });
    this.#child = child;
    child.stdout.on("data", (chunk: Buffer) => {
      this.#touch();
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      this.#stderr.push(chunk);
    });
    child.stdin.on("error", () => {});
    // EOF waits for the exit status: a failed ssh must surface as its reason, not as a
    // connection that merely closed.
    child.once("close", (code, sig) => {
      this.#closed = true;
      if (this.destroyed) return;
      if (code === 0) {
        this.push(null);
        return;
      }
      const why =
        options.explain?.(this.#stderr.text, code) ||
        this.#stderr.lastLine ||
        `${options.argv[0]} exited with ${code ?? sig}`;
      this.destroy(
        new HlnError("E_ENGINE_UNREACHABLE", `cannot reach ${options.endpoint}: ${why}`),
      );
    });
  }

  override _read(): void {
    this.#child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#touch();
    this.#child.stdin.write(chunk, (err) => {
      // A command that died (ssh refused) breaks the pipe before its exit is seen; wait
      // for the exit, whose status and stderr say why, rather than report EPIPE.
      if (err && !this.#closed) this.#child.once("close", () => cb(err));
      else cb(err);
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    // Node destroys a child's stdin when the child exits, and end() on a destroyed
    // stream never calls back; finished() does, so the Duplex still closes.
    this.#child.stdin.end();
    finished(this.#child.stdin, () => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.#idle);
    this.#child.stdin.destroy();
    this.#child.stdout.destroy();
    this.#child.stderr.destroy();
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
    cb(err);
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.#idleMs = ms;
    if (cb) this.once("timeout", cb);
    this.#touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  // A connection kept open between requests must not keep the process alive: HTTP
  // keep-alive unrefs an idle socket and refs it again when a request takes it.
  ref(): this {
    this.#child.ref();
    for (const pipe of this.#pipes()) pipe.ref?.();
    return this;
  }

  unref(): this {
    this.#child.unref();
    for (const pipe of this.#pipes()) pipe.unref?.();
    return this;
  }

  /** The child's stdio: sockets (pipes) that each hold the event loop open. */
  #pipes(): { ref?: () => void; unref?: () => void }[] {
    return [this.#child.stdin, this.#child.stdout, this.#child.stderr] as never;
  }

  #touch(): void {
    clearTimeout(this.#idle);
    if (this.#idleMs > 0) this.#idle = setTimeout(() => this.emit("timeout"), this.#idleMs);
  }
}
