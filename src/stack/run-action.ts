/**
 * Running one action of a prepared stack on an engine: the dag, the race with faults and
 * Ctrl-C, settling what the action left running, and closing. `hln do`, `hln up` and
 * `hln down` share it; the CLI only parses flags and prints.
 */
import { dirname } from "node:path";
import type { SolveStatus } from "../buildkit/solve-status.js";
import type { Engine } from "../engine/engine.js";
import { HlnError } from "../errors.js";
import { createDag, type Dag, type DagOptions } from "../sdk/dag.js";
import type { Redactor } from "../sdk/solver.js";
import { actionError, Fault, messageOf } from "./action-error.js";
import { type App, type AppSpec, createAppRecorder } from "./app-spec.js";
import { type CacheEntryNames, resolveCache } from "./cache-spec.js";
import type { Action } from "./define-stack.js";
import { shownPath } from "./load-stack.js";
import type { PreparedStack } from "./prepare-stack.js";
import { toPrintable } from "./printable.js";

export interface RunActionOptions {
  /** Opened and closed by the caller. */
  engine: Engine;
  prepared: PreparedStack;
  /** An action the stack has; any other is E_USAGE naming the file and listing the actions. */
  action: string;
  env: NodeJS.ProcessEnv;
  /** Cancels the action and everything it runs on the engine. */
  signal: AbortSignal;
  onStatus?: (status: SolveStatus) => void;
  /** Told about things that did not stop the run, e.g. a cache import that was skipped. */
  onWarning?: (message: string) => void;
  redactor?: Redactor;
  /**
   * Cache import (`from`) and export (`to`) entries; each given direction replaces the
   * stack's own. `names` is how errors name them (the CLI's flags).
   */
  cache?: { from?: string[]; to?: string[]; names?: CacheEntryNames };
  /** See DagOptions.silenceTimeoutMs. */
  silenceTimeoutMs?: number;
  /** Run every build step again instead of reusing the cache (`--no-cache`). */
  noCache?: boolean;
  /** Answer unchanged requests from the local ledger (see DagOptions.ledger); off when absent. */
  ledger?: DagOptions["ledger"];
  /** The CLI's fault watch: rejects when stack code faults (timer throw, unawaited rejection, drained loop). */
  faults?: { fault: Promise<never>; readonly first?: unknown };
}

export interface ActionRun {
  /** What the action returned, already turned into plain printable data (toPrintable). */
  result: unknown;
  /** The services, jobs and volumes the action declared with ctx.app (already validated by spec()). */
  app: AppSpec;
  /** Still open: `then` may build more on it (hln up builds the service images here). */
  dag: Dag;
  /** e.g. `stacks/hello/stack.ts: action "up"`, for messages */
  where: string;
}

/**
 * The action `name` of a prepared stack; E_USAGE naming the file and the actions it has
 * otherwise. Callers check it before opening an engine, so a typo costs no connection.
 */
export function actionOf(prepared: PreparedStack, name: string): Action<never> {
  const { file, stack } = prepared;
  // Only the stack's own actions: `constructor` or `toString` are not actions.
  const run = Object.hasOwn(stack.actions, name) ? stack.actions[name] : undefined;
  if (typeof run !== "function") {
    const names = Object.keys(stack.actions).join(", ") || "none";
    throw new HlnError(
      "E_USAGE",
      `${shownPath(file)}: stack "${stack.name}" has no action "${name}" (actions: ${names})`,
    );
  }
  return run as Action<never>;
}

/**
 * Runs the action, then `then` with the dag still open; closes the dag after (settling and
 * exporting cache on success, cancelling on failure). Errors come out as HlnError with
 * `where` named (actionError).
 *
 * `then` is hln's own work (building and deploying what the action declared): it is not
 * raced against Ctrl-C but awaited to its end, and must stop on `signal` itself, so that
 * it never leaves a deploy half done behind the caller's back.
 *
 * @example
 * const engine = await openEngine();
 * try {
 *   const out = await runAction(
 *     { engine, prepared, action: "up", env: process.env, signal },
 *     async ({ result, app }) => ({ result, services: app.services.map((s) => s.name) }),
 *   );
 * } finally {
 *   engine.close();
 * }
 */
export async function runAction<T>(
  options: RunActionOptions,
  then: (run: ActionRun) => Promise<T>,
): Promise<T> {
  const { prepared, signal } = options;
  const { file, stack } = prepared;
  const run = actionOf(prepared, options.action);
  const cache = resolveCache(file, stack, {
    from: options.cache?.from ?? [],
    to: options.cache?.to ?? [],
    names: options.cache?.names,
  });
  const dag = createDag({
    connection: options.engine.buildkit,
    onStatus: options.onStatus,
    signal,
    env: options.env,
    redactor: options.redactor,
    docker: options.engine,
    cache,
    onWarning: options.onWarning,
    silenceTimeoutMs: options.silenceTimeoutMs,
    noCache: options.noCache,
    ledger: options.ledger,
    stackDirectory: dirname(file),
  });
  const where = `${shownPath(file)}: action "${options.action}"`;
  const recorder = createAppRecorder();
  // Its errors name the stack file and action, like every other error of the action.
  const app: App = {
    service: (...a) => stackInvalid(where, () => recorder.app.service(...a)),
    job: (...a) => stackInvalid(where, () => recorder.app.job(...a)),
    volume: (name) => stackInvalid(where, () => recorder.app.volume(name)),
  };
  const faults = options.faults;
  const faulted = () => {
    if (faults?.first !== undefined) throw faults.first;
  };
  let failed = true;
  const cancelled = aborted(signal);
  try {
    // A fault (a throw from the stack's timer, a promise it left failing, a promise that
    // can never settle) ends the action too, instead of a stack trace or exit 13.
    const result = await Promise.race([
      (async () =>
        run({
          dag,
          inputs: prepared.inputs.values as never,
          signal,
          stackDirectory: dirname(file),
          app,
        }))(),
      ...(faults ? [faults.fault] : []),
      // Ctrl-C ends the run even while the action awaits something of its own.
      cancelled.promise,
    ]);
    faulted();
    const spec = stackInvalid(where, () => recorder.spec());
    const printable = printableResult(result, where);
    const out = await settleThen(then({ result: printable, app: spec, dag, where }), faults);
    // Work the action left running is waited for before the run counts as done.
    await dag.close();
    faulted();
    failed = false;
    return out;
  } catch (err) {
    throw actionError(err, where);
  } finally {
    cancelled.done();
    if (failed) await dag.close({ exportCache: false, settle: false });
  }
}

/**
 * Awaits `then` (hln's own work) to its end. A fault raised meanwhile aborts the signal
 * `then` runs under, so it stops soon; waiting for it keeps its cleanup ahead of the
 * caller's. Only a drained loop is reported at once: nothing is left that could settle it.
 */
async function settleThen<T>(pending: Promise<T>, faults: RunActionOptions["faults"]): Promise<T> {
  if (!faults) return pending;
  pending.catch(() => {});
  try {
    return await Promise.race([pending, faults.fault]);
  } catch (err) {
    if (err instanceof Fault && err.kind !== "drained") await pending.catch(() => {});
    throw err;
  }
}

/** The app's declaration errors, prefixed with the file and action they come from. */
function stackInvalid<T>(where: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw prefixed(err, where);
  }
}

function prefixed(err: unknown, where: string): unknown {
  if (!(err instanceof HlnError) || err.code !== "E_STACK_INVALID") return err;
  return new HlnError("E_STACK_INVALID", `${where}: ${err.message}`, {
    cause: err,
    hint: err.hint,
  });
}

/**
 * Rejects with E_ABORTED once `signal` aborts, until `done()`: the caller's signal may
 * outlive the run (a library user's, reused run after run), and a listener left on it
 * would keep one per run, with what it holds.
 */
function aborted(signal: AbortSignal): { promise: Promise<never>; done: () => void } {
  let fail = () => {};
  const promise = new Promise<never>((_, reject) => {
    fail = () => reject(new HlnError("E_ABORTED", "cancelled", { cause: signal.reason }));
  });
  if (signal.aborted) fail();
  else signal.addEventListener("abort", fail, { once: true });
  return { promise, done: () => signal.removeEventListener("abort", fail) };
}

function printableResult(result: unknown, where: string): unknown {
  try {
    return toPrintable(result);
  } catch (err) {
    // Not printable.ts's own verdict: the stack's value threw while it was read (a getter,
    // toJSON, a Proxy trap), or was nested too deeply to walk. Either is the stack's.
    if (!(err instanceof HlnError))
      throw new HlnError(
        "E_STACK_ACTION",
        `${where} returned a value that cannot be read: ${err instanceof RangeError ? "nested too deeply" : messageOf(err)}`,
        { cause: err },
      );
    throw new HlnError(err.code, `${where} returned ${err.message}`, { hint: err.hint });
  }
}
