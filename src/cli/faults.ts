/**
 * Failures that escape every await: an error thrown from a timer or a callback
 * (uncaughtException), a promise rejected with nobody listening (unhandledRejection), and
 * the event loop running dry while hln still waits (a promise that can never settle).
 * Node would print a stack trace and exit 1, or exit 13 without a word. Here the first
 * one cancels the run's work on the engine and becomes the command's error, one line
 * like any other; `blame` decides whether it was the stack's code or hln's.
 */
import { fileURLToPath } from "node:url";
import { debuglog } from "node:util";
import { HlnError } from "../errors.js";

const debug = debuglog("hln:cli");

export type FaultKind = "uncaught" | "rejection" | "drained";

/** What escaped, and how. */
export class Fault extends Error {
  override readonly name = "Fault";
  constructor(
    readonly kind: FaultKind,
    readonly error: unknown,
  ) {
    super(
      kind === "drained"
        ? "hln waited on a promise that can never settle"
        : `${kind === "uncaught" ? "uncaught error" : "unhandled rejection"}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

export interface Faults {
  /** Aborted with the first fault; the run's work on the engine hangs off it. */
  readonly signal: AbortSignal;
  /** Rejects with the first fault. */
  readonly fault: Promise<never>;
  /** The first fault, once there was one. */
  readonly first: Fault | undefined;
  dispose(): void;
}

export function watchFaults(): Faults {
  const controller = new AbortController();
  let first: Fault | undefined;
  let reject: (f: Fault) => void = () => {};
  const fault = new Promise<never>((_, r) => {
    reject = r;
  });
  // Raced against, not always awaited: its rejection is not itself unhandled.
  fault.catch(() => {});
  let ended = false;
  const raise = (f: Fault): void => {
    // Work cancelled at the end of a command can still reject on its way out; the
    // command has reported what mattered by then.
    if (ended || first) {
      debug("%s: %o", ended ? "after the command ended" : "after the first fault", f.error);
      return;
    }
    first = f;
    // Rejected before the signal aborts, so that a race against both sees the fault.
    reject(f);
    controller.abort(f);
  };
  const onUncaught = (err: unknown) => raise(new Fault("uncaught", err));
  const onRejection = (err: unknown) => raise(new Fault("rejection", err));
  // Fires only when nothing is left to run: whatever hln still awaits can never settle.
  const onDrained = () => raise(new Fault("drained", undefined));
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onRejection);
  process.on("beforeExit", onDrained);
  return {
    signal: controller.signal,
    fault,
    get first() {
      return first;
    },
    /** Stops watching for a drained loop; later errors are only logged (hln:cli). */
    dispose() {
      ended = true;
      process.off("beforeExit", onDrained);
    },
  };
}

const hlnRoot = fileURLToPath(new URL("../", import.meta.url));

/**
 * True when `err` was thrown by hln's own code: the first frame of its stack that is a
 * file lies in hln's sources (src/ or dist/). Anything else thrown while a stack runs is
 * the stack's.
 */
export function thrownByHln(err: unknown, root = hlnRoot): boolean {
  const first = frames(err).find((f) => !f.path.includes("/node_modules/"));
  return first?.path.startsWith(root) === true;
}

interface Frame {
  fn: string;
  path: string;
}

/** The frames of `err`'s stack that name a file: `at [async] fn (/path:1:2)`. */
function frames(err: unknown): Frame[] {
  if (!(err instanceof Error) || typeof err.stack !== "string") return [];
  const out: Frame[] = [];
  for (const line of err.stack.split("\n").slice(1)) {
    const m = /^\s*at (?:async )?(?:(\S+) \()?(?:file:\/\/)?(\/[^):]+)/.exec(line);
    if (m) out.push({ fn: m[1] ?? "", path: m[2]! });
  }
  return out;
}

/**
 * The SDK call a stack made with a value of the wrong type, when `err` is the TypeError
 * hln's code threw on it: `withExec` for `withExec("ls")` from a .js stack. Found as the
 * last frame in hln before the first frame in the stack's own code.
 */
export function misusedCall(err: unknown, root = hlnRoot): string | undefined {
  if (!(err instanceof TypeError)) return undefined;
  let call: string | undefined;
  let inHln = false;
  for (const f of frames(err)) {
    if (f.path.includes("/node_modules/")) continue;
    if (f.path.startsWith(root)) {
      inHln = true;
      const name = /(?:^|\.)([A-Za-z_$][\w$]*)$/.exec(f.fn)?.[1];
      if (name) call = name;
      continue;
    }
    return inHln ? call : undefined;
  }
  return undefined;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * What an error from the stack's action (or from a fault while it ran) means for the
 * user. `where` names the file and action: `stack.ts: action "up"`.
 */
export function actionError(err: unknown, where: string): HlnError {
  if (err instanceof Fault) {
    if (err.kind === "drained")
      return new HlnError("E_STACK_ACTION", `${where} returned a promise that never settled`, {
        hint: "something the action awaits can never finish, e.g. a Promise whose resolve is never called",
      });
    const inner = err.error;
    if (inner instanceof HlnError) return inner;
    if (thrownByHln(inner)) return HlnError.from(inner);
    const how =
      err.kind === "uncaught" ? "a timer or callback threw" : "a promise it did not await failed";
    return new HlnError("E_STACK_ACTION", `${where}: ${how}: ${messageOf(inner)}`, {
      cause: inner,
    });
  }
  if (err instanceof HlnError) return err;
  const call = misusedCall(err);
  if (call)
    return new HlnError("E_STACK_ACTION", `${where}: ${call}(): ${messageOf(err)}`, {
      cause: err,
      hint: `a value of the wrong type reached ${call}() or a call before it; --debug shows where`,
    });
  if (thrownByHln(err)) return HlnError.from(err);
  return new HlnError("E_STACK_ACTION", `${where} failed: ${messageOf(err)}`, { cause: err });
}

/** A fault outside any action: hln's own, since no stack code was running. */
export function faultError(fault: Fault): HlnError {
  if (fault.kind === "drained") return new HlnError("E_INTERNAL", fault.message);
  return HlnError.from(fault.error);
}
