/**
 * A dialer that runs a command on a host through the system ssh, with one ssh
 * connection shared by every stream it opens (OpenSSH connection sharing: ControlMaster
 * in a private ControlPath). The TCP connect, key exchange and authentication happen
 * once per run; each stream after that is a session on the same connection, which the
 * server starts in milliseconds.
 *
 * Each phase has its own bound and its own message, so a slow host works and a silent
 * one fails at once saying where it went silent:
 *   1. TCP connect, and the server's SSH banner: ssh's own ConnectTimeout;
 *   2. the whole handshake (connect, key exchange, authentication): `handshakeTimeoutMs`;
 *   3. the command's first answer on each new stream (`probe`): `answerTimeoutMs`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { HlnError, throwIfAborted } from "../errors.js";
import { commandDialer } from "./command-dialer.js";
import type { Dialer, DialOptions } from "./dialer.js";
import { StderrTail } from "./stderr-tail.js";

export interface SshDialerOptions {
  /** Names the endpoint in messages, e.g. `ssh://root@10.0.0.2`. */
  endpoint: string;
  /** The host as ssh takes it (a name from ~/.ssh/config works). */
  host: string;
  /** ssh options that go with the host: `-l USER`, `-p PORT`. */
  target?: readonly string[];
  /** What runs on the host for each stream, e.g. `docker system dial-stdio`. */
  command: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** ssh's ConnectTimeout in seconds: the TCP connect, then the server's banner. Defaults to 10. */
  connectTimeoutS?: number;
  /** The whole handshake, authentication included. Defaults to 15000 ms. */
  handshakeTimeoutMs?: number;
  /** How long the command may stay silent on a new stream. Defaults to 5000 ms. */
  answerTimeoutMs?: number;
  /** Proves on each new stream that the command answers (e.g. an HTTP ping). */
  probe?: (stream: Duplex, signal?: AbortSignal) => Promise<void>;
  /**
   * Share one connection between streams. Defaults to true except on Windows, whose
   * OpenSSH has no connection sharing; there each stream is its own ssh connection.
   */
  share?: boolean;
}

export interface SshDialer extends Dialer {
  /** Ends every ssh process the dialer started and removes its ControlPath. */
  close(): void;
}

/**
 * How long the shared connection outlives its last stream. hln ends it itself when it
 * is done; this bound is for when hln cannot (SIGKILL): the streams end with hln's
 * pipes, and the connection follows this long after.
 */
const persistS = 10;

export function sshDialer(options: SshDialerOptions): SshDialer {
  return new SharedSsh(options);
}

class SharedSsh implements SshDialer {
  readonly endpoint: string;
  readonly keepAlive = true;
  readonly #o: SshDialerOptions;
  readonly #share: boolean;
  readonly #connectS: number;
  readonly #handshakeMs: number;
  readonly #answerMs: number;
  readonly #what: string;
  /** Every stream still open, so that close() and process exit can end them. */
  readonly #streams = new Set<Duplex>();
  #dir: string | undefined;
  #master: ChildProcess | undefined;
  #up: Promise<void> | undefined;
  #connected = false;
  #closed = false;
  readonly #onExit = () => this.close();

  constructor(o: SshDialerOptions) {
    this.#o = o;
    this.endpoint = o.endpoint;
    this.#share = o.share ?? process.platform !== "win32";
    this.#connectS = o.connectTimeoutS ?? 10;
    this.#handshakeMs = o.handshakeTimeoutMs ?? 15_000;
    this.#answerMs = o.answerTimeoutMs ?? 5000;
    this.#what = o.command.join(" ");
  }

  get #socket(): string {
    this.#dir ??= mkdtempSync(join(tmpdir(), "hln-ssh-"));
    return join(this.#dir, "s");
  }

  async dial(o: DialOptions = {}): Promise<Duplex> {
    throwIfAborted(o.signal);
    if (this.#closed)
      throw new HlnError("E_ABORTED", `the connection to ${this.endpoint} was closed`);
    if (this.#share) await abortable(this.#connect(), o.signal);
    const argv = [
      "ssh",
      ...this.#common(),
      ...(this.#share ? ["-o", "ControlMaster=no", "-o", `ControlPath=${this.#socket}`] : []),
      "-T",
      ...(this.#o.target ?? []),
      "--",
      this.#o.host,
      ...this.#o.command,
    ];
    const stream = await commandDialer({
      endpoint: this.endpoint,
      argv,
      env: this.#o.env,
      explain: (stderr) => this.#explain(stderr),
    }).dial(o);
    this.#streams.add(stream);
    stream.once("close", () => this.#streams.delete(stream));
    if (!this.#o.probe) return stream;
    // Unshared, the handshake happens inside this stream, unseen: one bound covers both.
    const ms = this.#share ? this.#answerMs : this.#handshakeMs + this.#answerMs;
    const silent = this.#share
      ? `connected, but ${this.#what} did not answer within ${seconds(ms)}`
      : `ssh handshake and ${this.#what} did not finish within ${seconds(ms)}`;
    const timer = setTimeout(
      () => stream.destroy(new HlnError("E_ENGINE_UNREACHABLE", this.#reason(silent))),
      ms,
    );
    try {
      await this.#o.probe(stream, o.signal);
      return stream;
    } catch (err) {
      stream.destroy();
      throw o.signal?.aborted ? aborted(o.signal) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    process.off("exit", this.#onExit);
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
    if (this.#master) killGroup(this.#master);
    if (this.#dir && existsSync(join(this.#dir, "s"))) {
      // Once connected the master is in the background (ControlPersist), out of reach of
      // kill(): ask it to end. Synchronous, because this also runs as the process exits.
      spawnSync(
        "ssh",
        [
          "-o",
          `ControlPath=${this.#socket}`,
          "-O",
          "exit",
          ...(this.#o.target ?? []),
          "--",
          this.#o.host,
        ],
        { env: this.#o.env ?? process.env, stdio: "ignore", timeout: 5000 },
      );
    }
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Options every ssh process gets: no prompts (nobody can answer one), ssh's own connect bound. */
  #common(): string[] {
    return ["-o", `ConnectTimeout=${this.#connectS}`, "-o", "BatchMode=yes"];
  }

  /** The shared connection: started on first use, and again once it has ended. */
  #connect(): Promise<void> {
    if (this.#up && (!this.#connected || existsSync(this.#socket))) return this.#up;
    this.#connected = false;
    this.#up = this.#startMaster().then(
      () => {
        this.#connected = true;
      },
      (err: unknown) => {
        this.#up = undefined;
        throw err;
      },
    );
    return this.#up;
  }

  /**
   * Runs the master: `ssh -N` with ControlPersist, which authenticates, opens the
   * ControlPath, moves to the background and exits 0; its exit is the sign that the
   * connection is up, and its status and stderr say why when it is not.
   */
  #startMaster(): Promise<void> {
    process.off("exit", this.#onExit);
    process.once("exit", this.#onExit);
    const argv = [
      ...this.#common(),
      "-o",
      "ControlMaster=yes",
      "-o",
      `ControlPath=${this.#socket}`,
      "-o",
      `ControlPersist=${persistS}`,
      "-N",
      "-T",
      ...(this.#o.target ?? []),
      "--",
      this.#o.host,
    ];
    return new Promise<void>((resolve, reject) => {
      const stderr = new StderrTail();
      let child: ChildProcess;
      try {
        child = spawn("ssh", argv, {
          env: this.#o.env ?? process.env,
          stdio: ["ignore", "ignore", "pipe"],
          // Its own process group, so that giving up kills its ProxyCommand too: ssh
          // killed mid-handshake leaves that running. Once connected, the master leaves
          // the group itself (ControlPersist daemonizes it).
          detached: process.platform !== "win32",
        });
      } catch (err) {
        reject(new HlnError("E_ENGINE_UNREACHABLE", this.#reason(String(err))));
        return;
      }
      this.#master = child;
      const timer = setTimeout(() => {
        killGroup(child);
        reject(
          new HlnError(
            "E_ENGINE_UNREACHABLE",
            this.#reason(`ssh handshake did not finish within ${seconds(this.#handshakeMs)}`),
          ),
        );
      }, this.#handshakeMs);
      child.stderr?.on("data", (c: Buffer) => stderr.push(c));
      child.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why = err.code === "ENOENT" ? "ssh is not installed (not on PATH)" : err.message;
        reject(new HlnError("E_ENGINE_UNREACHABLE", this.#reason(why)));
      });
      child.once("exit", (code, sig) => {
        clearTimeout(timer);
        if (this.#master === child) this.#master = undefined;
        if (code === 0) {
          resolve();
          return;
        }
        // stderr may still hold the last line: read it once the pipe has closed.
        child.once("close", () =>
          reject(
            new HlnError(
              "E_ENGINE_UNREACHABLE",
              this.#reason(
                this.#explain(stderr.text) || stderr.lastLine || `ssh exited with ${code ?? sig}`,
              ),
            ),
          ),
        );
      });
    });
  }

  /** ssh's own timeouts, said as the phase that stalled; "" for the caller's fallback, ssh's last line. */
  #explain(stderr: string): string {
    const s = `${this.#connectS} s`;
    const tcp = /connect to host (\S+) port (\d+): Connection timed out/.exec(stderr);
    if (tcp) return `TCP connect to ${tcp[1]}:${tcp[2]} did not finish within ${s}`;
    if (/timed out during banner exchange/.test(stderr))
      return `ssh handshake did not finish within ${s} (the server sent no SSH banner)`;
    return "";
  }

  #reason(why: string): string {
    return `cannot reach ${this.endpoint}: ${why}`;
  }
}

/** Ends a master still in its handshake, with whatever it started (a ProxyCommand). */
function killGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(process.platform === "win32" ? child.pid : -child.pid);
  } catch {
    child.kill();
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function aborted(signal: AbortSignal): HlnError {
  return new HlnError("E_ABORTED", "cancelled", { cause: signal.reason });
}

/** `p`, or a rejection as soon as the signal fires. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
