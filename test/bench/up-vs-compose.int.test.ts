/**
 * The up-vs-compose bench in its smoke mode (one run of each case and side): it must still
 * run to the end, print its table with a ratio per case, and clean up after itself.
 * Timings are never checked.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../helpers/run-cli.js";

function runBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "bench", "up-vs-compose.ts"), "--smoke"],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("bench/up-vs-compose.ts --smoke", () => {
  it("runs hln up and docker compose up once each and prints a ratio per case", {
    timeout: 20 * 60_000,
  }, async () => {
    const r = await runBench();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^case\s+hln ms\s+compose ms\s+hln\/compose/m);
    for (const c of ["no-op", "redeploy"])
      assert.match(r.stdout, new RegExp(`^${c}\\s+\\d+\\s+\\d+\\s+\\d+\\.\\d{2}\\s`, "m"));
    // A failed removal of either app is reported on a "cleanup" line.
    assert.doesNotMatch(r.stderr, /^cleanup /m);
  });
});
