/**
 * The CLI's one place for failure: every error becomes one line on stderr (plus a hint
 * and, for failed steps, their last output) and an exit code scripts can rely on.
 */
import { ExecError, HlnError, type HlnErrorCode, hintText, type SettingNamer } from "../errors.js";

export const exitCodes: Record<HlnErrorCode, number> = {
  E_EXEC_FAILED: 1,
  E_SOLVE_FAILED: 1,
  // The run started and the stack's code failed in it, as a step can; 2 is kept for
  // what is wrong before anything runs.
  E_STACK_ACTION: 1,
  E_DEPLOY_FAILED: 1,
  E_USAGE: 2,
  E_INPUT_INVALID: 2,
  E_STACK_INVALID: 2,
  E_ENGINE_UNREACHABLE: 3,
  E_ENGINE_PROTOCOL: 3,
  E_ENGINE_CAPABILITY: 3,
  E_INTERNAL: 70,
  // EX_TEMPFAIL of sysexits.h: the same command may succeed once the other hln is done.
  E_LOCKED: 75,
  E_ABORTED: 130,
};

export interface ReportOptions {
  debug: boolean;
  write: (text: string) => void;
  /** Applied to every line printed, to keep secrets out. */
  scrub?: (text: string) => string;
  /**
   * Names the setting an error's remedy is about in the words of the interface the user
   * used (setting-words.ts); without it the library's words are printed.
   */
  names?: SettingNamer;
}

/**
 * `text` on one line and inert on a terminal: a stack's error (or a value quoted in one)
 * may hold line breaks, terminal escapes or bidi overrides, which would otherwise break
 * the one-line form or redraw the user's screen. Each is shown escaped, as in JSON.
 */
export function oneLine(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
    /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) =>
      c === "\n"
        ? "\\n"
        : c === "\r"
          ? "\\r"
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Prints `err` for a person and returns the process exit code. */
export function reportError(err: unknown, o: ReportOptions): number {
  const e = HlnError.from(err);
  const scrub = o.scrub ?? ((s: string) => s);
  const lines = [`hln: error: ${oneLine(e.message)}`];
  if (e instanceof ExecError && e.output.trim() !== "") {
    lines.push(`  last output of the step:`);
    for (const l of e.output.trimEnd().split("\n")) lines.push(`  | ${l}`);
  }
  const hint = o.names ? hintText(e.advice, e.remedy, o.names) : e.hint;
  // A hint may run over lines of its own (a service's last log lines): they stay lines,
  // each made inert.
  if (hint) lines.push(`  hint: ${hint.split("\n").map(oneLine).join("\n")}`);
  else if (e.code === "E_INTERNAL")
    // A message such as "Cannot read properties of undefined" alone reads like the
    // user's mistake; it is hln's.
    lines.push(
      `  hint: this is a bug in hln; please report it with the output of the same command with --debug`,
    );
  if (o.debug) {
    let c: unknown = e;
    while (c instanceof Error) {
      lines.push(c.stack ?? String(c));
      c = c.cause;
    }
  }
  o.write(`${lines.map(scrub).join("\n")}\n`);
  return exitCodes[e.code] ?? 1;
}
