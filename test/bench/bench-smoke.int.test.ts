/**
 * Every case of bench/ in smoke mode (one run per side, small inputs, no prune): the harness
 * must still run each case to the end, print a row with a figure per goal, write its JSON
 * and clean up after itself. Timings are never checked: a missed goal is a finding, not a
 * failure.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../helpers/run-cli.js";

function runBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "bench", "run.ts"), "--smoke"],
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

describe("npm run bench -- --smoke", () => {
  it("runs every case once and reports a figure and a goal for each", {
    timeout: 20 * 60_000,
  }, async () => {
    const ids = readdirSync(join(repoRoot, "bench", "cases"))
      .filter((f) => /^w\d+-.*\.ts$/.test(f))
      .map((f) => f.slice(0, f.indexOf("-")).toUpperCase());
    assert.ok(ids.length >= 6, `cases found: ${ids.join(", ")}`);
    const r = await runBench();
    assert.equal(r.code, 0, r.stderr);
    for (const id of ids)
      assert.match(r.stdout, new RegExp(`^\\| ${id} \\| .+ \\| (yes|NO) \\|$`, "m"));
    const json = JSON.parse(
      readFileSync(join(repoRoot, "bench", "out", "results.json"), "utf8"),
    ) as { smoke: boolean; metrics: { id: string; hln: { samples: number[] } }[] };
    assert.equal(json.smoke, true);
    for (const id of ids)
      assert.ok(json.metrics.some((m) => m.id === id && m.hln.samples.length === 1));
    // A failed removal of anything a case made is reported on a "cleanup" line.
    assert.doesNotMatch(r.stderr, /cleanup /);
  });
});
