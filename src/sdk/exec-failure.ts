/**
 * BuildKit's executor reports a failed step as `process %q did not complete successfully:
 * exit code: N` (Go's %q of the argv joined by spaces). These helpers read that message,
 * for when the error arrives before the Status stream names the failed vertex.
 */

import { cleanEngineMessage } from "../buildkit/engine-message.js";

/** The key `quotedArgvOf` returns for an argv: JSON escaping equals Go's %q for printable text, tabs and newlines. */
export function quoteArgv(argv: readonly string[]): string {
  return JSON.stringify(argv.join(" "));
}

/**
 * The quoted argv in a BuildKit exec failure message, quotes included; undefined if absent.
 * BuildKit before 0.9 wrote `executor failed running [a b c]: exit code: N` (Go's %v of
 * the argv): that argv comes back quoted the same way.
 */
export function quotedArgvOf(message: string): string | undefined {
  const m = /process ("(?:[^"\\]|\\.)*") did not complete successfully/.exec(message);
  if (m) return m[1];
  const old = oldExecFailure.exec(message);
  return old ? JSON.stringify(old[1]) : undefined;
}

const oldExecFailure = /executor failed running \[([\s\S]*)\]: exit code: \d+/;

/** `argv` as BuildKit before 0.9 shows it in errors (`[a b c]`), for rewriting it there. */
export function oldEngineArgv(argv: readonly string[]): string {
  return `[${argv.join(" ")}]`;
}

/** The exit code in a BuildKit exec failure message. */
export function exitCodeOf(message: string): number | undefined {
  const m = /exit code: (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/**
 * Why a process never ran (`unable to find user nobody2: ...`): BuildKit's text after
 * "did not complete successfully: " when it is not an exit code. Undefined otherwise.
 */
export function runFailureOf(message: string): string | undefined {
  const m = /did not complete successfully: (.+)$/s.exec(message);
  const reason = m?.[1]?.trim();
  return reason && !/^exit code: \d+/.test(reason) ? reason : undefined;
}

/**
 * Why hln's exec shim could not start the command, from the step's last output line
 * (`hln: exec "foo": no such file or directory in PATH`, with exit 127 or 126).
 */
export function shimStartFailure(
  exitCode: number | undefined,
  lines: readonly string[],
): string | undefined {
  if (exitCode !== 126 && exitCode !== 127) return undefined;
  return /^hln: (exec "(?:[^"\\]|\\.)*": .+)$/.exec(lines.at(-1) ?? "")?.[1];
}

/**
 * Why the container runtime could not start the process (runc prints it as the step's
 * last line and BuildKit reports exit code 1): a working directory or a mount point that
 * is a file, for example. The engine's own paths are dropped.
 */
export function runtimeStartFailure(
  exitCode: number | undefined,
  lines: readonly string[],
): string | undefined {
  if (exitCode !== 1) return undefined;
  const m =
    /^runc run failed: (?:unable to start container process: )?(?:error during container init: )?(.+)$/.exec(
      lines.at(-1) ?? "",
    );
  if (!m) return undefined;
  const mount = /^error mounting "[^"]*" to rootfs at "([^"]+)": .*: ([^:]+)$/.exec(m[1]!);
  return mount ? `cannot mount at ${mount[1]}: ${mount[2]}` : cleanEngineMessage(m[1]!);
}
