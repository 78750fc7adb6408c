/**
 * Runs the SDK's requests on one engine: one session shared by every solve, one solve
 * per result asked for, all of them concurrent. Identical requests made at the same
 * time share one solve; BuildKit merges vertices shared between different solves.
 */
import { debuglog } from "node:util";
import type { BuildkitConnection } from "../buildkit/connection.js";
import { withGateway } from "../buildkit/gateway.js";
import { openSession, type Session } from "../buildkit/session.js";
import { solve } from "../buildkit/solve.js";
import type { SolveStatus } from "../buildkit/solve-status.js";
import { ExecError, HlnError } from "../errors.js";
import { definition, type Output, vertexDigest } from "../llb/index.js";

const debug = debuglog("hln:sdk");

/** What the solver knows about an exec vertex, to explain its failure. */
export interface ExecInfo {
  args: readonly string[];
}

export interface SolverOptions {
  connection: BuildkitConnection;
  /** Receives every Status message of every solve. */
  onStatus?: (status: SolveStatus) => void;
  signal?: AbortSignal;
}

const tailLines = 20;

export class Solver {
  readonly #conn: BuildkitConnection;
  readonly #onStatus: ((s: SolveStatus) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  #session: Promise<Session> | undefined;
  readonly #inflight = new Map<string, Promise<unknown>>();
  /** Exec vertices by digest, registered as the graph is built. */
  readonly #execs = new Map<string, ExecInfo>();
  /** The last lines each vertex printed, for error reports. */
  readonly #tails = new Map<string, string[]>();
  readonly #partial = new Map<string, string>();

  constructor(options: SolverOptions) {
    this.#conn = options.connection;
    this.#onStatus = options.onStatus;
    this.#signal = options.signal;
  }

  registerExec(output: Output, info: ExecInfo): void {
    this.#execs.set(vertexDigest(output.vertex), info);
  }

  /** Builds `output` and keeps nothing but the cache. */
  sync(output: Output): Promise<void> {
    const def = definition(output);
    const key = `sync:${vertexDigest(output.vertex)}:${output.index}`;
    return this.#once(key, async () => {
      const session = await this.#openSession();
      const failed = new Map<string, string>();
      await solve(this.#conn, {
        definition: def,
        sessionId: session.id,
        onStatus: this.#tapInto(failed),
        signal: this.#signal,
      }).catch((err) => {
        throw this.#explain(err, failed);
      });
    });
  }

  /** Builds `output` and reads one file out of the result. */
  readFile(output: Output, path: string): Promise<Uint8Array> {
    const def = definition(output);
    const key = `read:${vertexDigest(output.vertex)}:${output.index}:${path}`;
    return this.#once(key, async () => {
      const session = await this.#openSession();
      const failed = new Map<string, string>();
      return withGateway(
        this.#conn,
        { sessionId: session.id, onStatus: this.#tapInto(failed), signal: this.#signal },
        async (gw) => gw.readFile(await gw.solve(def), path),
      ).catch((err) => {
        throw this.#explain(err, failed);
      });
    });
  }

  async close(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s) await (await s.catch(() => undefined))?.close();
  }

  #once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const existing = this.#inflight.get(key);
    if (existing) return existing as Promise<T>;
    const p = run();
    this.#inflight.set(key, p);
    // A failed request may be retried; a successful one is answered from memory.
    p.catch(() => this.#inflight.delete(key));
    return p;
  }

  #openSession(): Promise<Session> {
    this.#session ??= openSession(this.#conn, { signal: this.#signal });
    return this.#session;
  }

  #tapInto(failed: Map<string, string>): (status: SolveStatus) => void {
    return (status) => {
      for (const v of status.vertexes) if (v.error) failed.set(v.digest, v.error);
      this.#tap(status);
    };
  }

  readonly #tap = (status: SolveStatus): void => {
    for (const log of status.logs) {
      const text = (this.#partial.get(log.vertex) ?? "") + Buffer.from(log.data).toString("utf8");
      const lines = text.split("\n");
      this.#partial.set(log.vertex, lines.pop() ?? "");
      const tail = this.#tails.get(log.vertex) ?? [];
      tail.push(...lines);
      this.#tails.set(log.vertex, tail.slice(-tailLines));
    }
    this.#onStatus?.(status);
  };

  /** Turns a failed solve into an ExecError when an exec we know of failed. */
  #explain(err: unknown, failed: Map<string, string>): unknown {
    if (!(err instanceof HlnError) || err.code !== "E_SOLVE_FAILED") return err;
    for (const [digest, message] of failed) {
      const exec = this.#execs.get(digest);
      if (!exec) continue;
      const m = /exit code: (\d+)/.exec(message) ?? /exit code: (\d+)/.exec(err.message);
      const tail = [...(this.#tails.get(digest) ?? [])];
      const partial = this.#partial.get(digest);
      if (partial) tail.push(partial);
      debug("exec %s failed: %s", digest, message);
      return new ExecError({
        args: exec.args,
        exitCode: m ? Number(m[1]) : undefined,
        output: tail.join("\n"),
        vertex: digest,
        cause: err,
      });
    }
    return err;
  }
}
