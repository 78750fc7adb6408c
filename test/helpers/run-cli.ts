import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time, for tables a test prints; never assert on it (speed belongs in bench/). */
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Kills the program (SIGTERM) when it fires; the promise then rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Runs the real `hln` binary as a user would, in a child process. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runProgram(process.execPath, [bin, ...args], {
    ...options,
    // The ledger off: these tests are about what the engine does on every run (cached steps,
    // progress); test/cli/ledger.int.test.ts turns it on with HLN_NO_LEDGER: "".
    env: { ...process.env, NO_COLOR: "1", CI: "true", HLN_NO_LEDGER: "1", ...options.env },
  });
}

/**
 * Runs a program to its end with exactly `options.env` (default: this process's), in the
 * repository unless `cwd` says otherwise.
 */
export function runProgram(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      signal: options.signal,
    });
    child.stdin?.end(options.input);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    // Kill-safety, not a speed check: a run still going after this long hung, and the
    // test says so instead of reading the killed run's exit as the program's answer.
    const limit = options.timeoutMs ?? 300_000;
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, limit);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (hung) {
        const last = stderr.trimEnd().split("\n").pop() ?? "";
        const shown = command === process.execPath && args[0] === bin ? "hln" : command;
        reject(
          new Error(
            `hung: ${shown} ${args.slice(shown === "hln" ? 1 : 0).join(" ")} was still running after ${limit / 1000} s and was killed${last ? `; its last stderr line: ${last}` : ""}`,
          ),
        );
        return;
      }
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Checks a run failed with exit 2 and exactly one stderr line, matching `pattern`. */
export function assertOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}
