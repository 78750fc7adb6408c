/**
 * What an error from a stack's action means for the user: the stack's code failing, a
 * value of the wrong type reaching the SDK, or hln's own error. Faults (errors that escaped
 * every await while the action ran) are told apart by how they escaped.
 */
import { fileURLToPath } from "node:url";
import { HlnError } from "../errors.js";

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
  let stack: unknown;
  try {
    // A stack's error may have a `stack` getter that throws.
    stack = err instanceof Error ? err.stack : undefined;
  } catch {
    return [];
  }
  if (typeof stack !== "string") return [];
  const out: Frame[] = [];
  for (const line of stack.split("\n").slice(1)) {
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

/**
 * What was thrown, as text. A stack may throw anything, including a value whose
 * `message` getter, `toJSON` or `toString` throws: none of that may escape from here.
 */
export function messageOf(err: unknown): string {
  const attempts: (() => unknown)[] = [
    () => (err instanceof Error ? err.message : typeof err === "string" ? err : undefined),
    () => (typeof err === "object" && err !== null ? JSON.stringify(err) : undefined),
    () => String(err),
  ];
  for (const attempt of attempts) {
    try {
      const text = attempt();
      if (typeof text === "string") return text;
    } catch {
      // The next way to say it.
    }
  }
  return `a value that cannot be shown (${err === null ? "null" : typeof err})`;
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
      hint: `a value of the wrong type reached ${call}() or a call before it`,
      remedy: { settings: ["debug"], does: "shows where" },
    });
  if (thrownByHln(err)) return HlnError.from(err);
  return new HlnError("E_STACK_ACTION", `${where} failed: ${messageOf(err)}`, { cause: err });
}
