/**
 * Test tool: watch this machine's processes. Build steps run on this kernel whichever
 * engine or namespace started them, so a marker in a step's command line tells when it
 * runs and when it has been stopped.
 */
import { execFileSync } from "node:child_process";

/** Command lines of every process whose command line contains `needle`. */
export function processes(needle: string): string[] {
  const out = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(needle) && !l.startsWith("ps "));
}

/**
 * Polls `ok` until it holds. `ms` is kill-safety, not a speed check: past it the test
 * fails saying it hung.
 */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`hung: still waiting until ${what} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
