/**
 * Failures that escape every await: an error thrown from a timer or a callback
 * (uncaughtException), a promise rejected with nobody listening (unhandledRejection), and
 * the event loop running dry while hln still waits (a promise that can never settle).
 * Node would print a stack trace and exit 1, or exit 13 without a word. Here the first
 * one cancels the run's work on the engine and becomes the command's error, one line
 * like any other; stack/action-error.ts decides whether it was the stack's code or hln's.
 */
import { debuglog } from "node:util";
import { HlnError } from "../errors.js";
import { Fault } from "../stack/action-error.js";

const debug = debuglog("hln:cli");

export interface Faults {
  /** Aborted with the first fault; the run's work on the engine hangs off it. */
  readonly signal: AbortSignal;
  /** Rejects with the first fault. */
  readonly fault: Promise<never>;
  /** The first fault, once there was one. */
  readonly first: Fault | undefined;
  dispose(): void;
}

/** The watchers of the commands running now: more than one only when main runs in-process. */
const watching = new Set<(f: Fault) => void>();

/**
 * Installed once per process, not once per command: a process that runs main again and
 * again (tests, a library caller) would otherwise gather a listener per run. Once no
 * command runs, a late error is only logged, as a command that ended does.
 */
function listen(): void {
  if (listening) return;
  listening = true;
  const raise = (f: Fault) => {
    if (watching.size === 0) debug("after the command ended: %o", f.error);
    for (const w of watching) w(f);
  };
  process.on("uncaughtException", (err) => raise(new Fault("uncaught", err)));
  process.on("unhandledRejection", (err) => raise(new Fault("rejection", err)));
}
let listening = false;

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
  // Fires only when nothing is left to run: whatever hln still awaits can never settle.
  const onDrained = () => raise(new Fault("drained", undefined));
  listen();
  watching.add(raise);
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
      watching.delete(raise);
      process.off("beforeExit", onDrained);
    },
  };
}

/** A fault outside any action: hln's own, since no stack code was running. */
export function faultError(fault: Fault): HlnError {
  if (fault.kind === "drained") return new HlnError("E_INTERNAL", fault.message);
  return HlnError.from(fault.error);
}
