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

/** Runs the real `hln` binary as a user would, in a child process. */
export function runCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    cwd?: string;
    /** Written to hln's stdin, which is then closed; without it stdin is /dev/null. */
    input?: string;
  } = {},
): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: "1", CI: "true", ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    child.stdin?.end(options.input);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    // Kill-safety, not a speed check: a run still going after this long hung, and the
    // test says so instead of reading the killed run's exit as hln's answer.
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
        reject(
          new Error(
            `hung: hln ${args.join(" ")} was still running after ${limit / 1000} s and was killed${last ? `; its last stderr line: ${last}` : ""}`,
          ),
        );
        return;
      }
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
