/**
 * What a failed solve tells the user: BuildKit reports a failed step by its vertex and
 * the argv it ran (hln's capture shim included), with a message such as `process "..."
 * did not complete successfully: exit code: 2`. This turns that into an ExecError naming
 * the command the stack wrote, its exit code and its last lines of output, or names the
 * step (a Dockerfile's COPY, a file op) whose reason alone does not say where it failed.
 * It learns what it needs from the graph as it is built and from the Status stream.
 */
import { debuglog } from "node:util";
import type { SolveStatus } from "../buildkit/solve-status.js";
import { displayCommand, ExecError, HlnError } from "../errors.js";
import { isMarshaled, type Output, vertexDigest } from "../llb/index.js";
import {
  exitCodeOf,
  oldEngineArgv,
  quoteArgv,
  quotedArgvOf,
  runFailureOf,
  runtimeStartFailure,
  shimStartFailure,
} from "./exec-failure.js";
import { OutputTail } from "./output-tail.js";

const debug = debuglog("hln:sdk");

/** What is known about an exec vertex, to explain its failure. */
export interface ExecInfo {
  /** The command as the stack wrote it. */
  args: readonly string[];
  /** The argv BuildKit runs (with the capture wrapper), as its error messages quote it. */
  wireArgs: readonly string[];
  /** The user set by withUser, to name that call when the engine cannot find the user. */
  user?: string;
}

/** Last lines of output kept per step for its error report. */
const tailLines = 20;

export class StepExplanation {
  /** Exec vertices by digest, indexed once their graph is sent. */
  readonly #execs = new Map<string, ExecInfo>();
  #unindexedExecs: [Output, ExecInfo][] = [];
  /** Exec vertex digests by their argv as BuildKit quotes it in errors (Go %q of the joined argv). */
  readonly #execsByArgv = new Map<string, string>();
  /** The last lines each vertex printed, for error reports. */
  readonly #tails = new OutputTail(tailLines);
  /** Names of the vertices that failed, as progress shows them, to name a failure's step. */
  readonly #failedNames = new Map<string, string>();
  /** Why a secret's value could not be had, by name, to explain the step that needed it. */
  readonly #secretFailures = new Map<string, unknown>();
  readonly #scrub: ((text: string) => string) | undefined;

  /** `scrub` redacts secret values from the output an ExecError carries. */
  constructor(options: { scrub?: ((text: string) => string) | undefined } = {}) {
    this.#scrub = options.scrub;
  }

  registerExec(output: Output, info: ExecInfo): void {
    // Indexed by digest only when a failure needs explaining: an exec on an image whose
    // config is not in yet has no digest before its graph is sent.
    this.#unindexedExecs.push([output, info]);
  }

  /** Records why secret `name`'s value could not be had: the engine's wrapping of it says less. */
  secretFailed(name: string, err: unknown): void {
    this.#secretFailures.set(name, err);
  }

  /** Indexes the execs of graphs sent so far; only those can have failed. */
  #indexExecs(): void {
    const still: [Output, ExecInfo][] = [];
    for (const [output, info] of this.#unindexedExecs) {
      if (!isMarshaled(output.vertex)) {
        still.push([output, info]);
        continue;
      }
      const digest = vertexDigest(output.vertex);
      this.#execs.set(digest, info);
      this.#execsByArgv.set(quoteArgv(info.wireArgs), digest);
    }
    this.#unindexedExecs = still;
  }

  /** Keeps a Status message's output lines, and its failed vertices in `failed` when given. */
  record(status: SolveStatus, failed?: Map<string, string>): void {
    // The failure cancels the other steps in flight: they report "context canceled",
    // which is no cause, and must not hide one reported before.
    if (failed)
      for (const v of status.vertexes)
        if (v.error && !(isCancellation(v.error) && failed.has(v.digest))) {
          failed.set(v.digest, v.error);
          this.#failedNames.set(v.digest, v.name);
        }
    for (const log of status.logs) this.#tails.add(log);
  }

  /**
   * `status` as progress shows it: BuildKit names a failed exec by the argv it ran, hln's
   * shim or wrapper included; progress shows the command the stack wrote instead.
   */
  shown(status: SolveStatus): SolveStatus {
    if (!status.vertexes.some((v) => v.error)) return status;
    this.#indexExecs();
    return {
      ...status,
      vertexes: status.vertexes.map((v) => {
        const exec = v.error ? this.#execs.get(v.digest) : undefined;
        if (!exec || !v.error) return v;
        const shown = displayCommand(exec.args);
        // Functions, so `$&` and the like in the command stay as written.
        const error = v.error
          .replace(quoteArgv(exec.wireArgs), () => JSON.stringify(shown))
          .replace(oldEngineArgv(exec.wireArgs), () => `[${shown}]`);
        return { ...v, error };
      }),
    };
  }

  /**
   * Turns a failed solve into an ExecError when an exec we know of failed, into the
   * secret's own error when a secret could not be had, or names the failed step; `failed`
   * holds the vertices the solve's Status stream reported failed.
   */
  explain(err: unknown, failed: Map<string, string>): unknown {
    if (!(err instanceof HlnError) || err.code !== "E_SOLVE_FAILED") return err;
    for (const [name, failure] of this.#secretFailures)
      if ([err.message, ...failed.values()].some((m) => m.includes(`secret "${name}"`)))
        return failure;
    this.#indexExecs();
    const candidates = [...failed];
    // A gateway solve can fail before the Status stream reports the vertex; the error
    // message then names it by its quoted argv.
    const quoted = quotedArgvOf(err.message);
    const byArgv = quoted ? this.#execsByArgv.get(quoted) : undefined;
    if (byArgv) candidates.push([byArgv, err.message]);
    for (const [digest, message] of candidates) {
      const exec = this.#execs.get(digest);
      if (!exec || isCancellation(message)) continue;
      const exitCode = exitCodeOf(message) ?? exitCodeOf(err.message);
      const tail = this.#tails.lines(digest);
      debug("exec %s failed: %s", digest, message);
      // A process that never started (an unknown user) has no output; the reason is all.
      const reason =
        exitCode === undefined
          ? (runFailureOf(message) ?? runFailureOf(err.message))
          : (shimStartFailure(exitCode, tail) ?? runtimeStartFailure(exitCode, tail));
      const userAtFault =
        reason !== undefined &&
        exec.user !== undefined &&
        /unable to find (user|group)/.test(reason);
      return new ExecError({
        args: exec.args,
        exitCode,
        reason,
        origin: userAtFault ? `withUser(${JSON.stringify(exec.user)})` : undefined,
        output: this.#scrub ? this.#scrub(tail.join("\n")) : tail.join("\n"),
        vertex: digest,
        cause: err,
      });
    }
    // Another step failed (a Dockerfile's COPY, a file op): the final line names it as
    // progress does, for the engine's reason alone ("/x": not found) does not say where.
    for (const [digest, error] of failed) {
      const name = this.#failedNames.get(digest);
      if (!name || isCancellation(error)) continue;
      if (/process "/.test(err.message) || err.message.includes(name)) continue;
      return new HlnError("E_SOLVE_FAILED", `${displayCommand([name])}: ${err.message}`, {
        cause: err,
        hint: err.hint,
      });
    }
    return err;
  }
}

/** A step's error that only says the build stopped it, because another step failed. */
function isCancellation(error: string): boolean {
  return /\bcontext canceled\b/.test(error);
}
