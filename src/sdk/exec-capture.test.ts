import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { captureArgs, captureDir } from "./exec-capture.js";

describe("captureArgs", () => {
  it("keeps the command's exit code, streams and arguments intact (run by the host's sh)", () => {
    const dir = mkdtempSync(join(tmpdir(), "hln-capture-"));
    const args = captureArgs([
      "sh",
      "-c",
      'printf "%s|" "$@"; echo err >&2; exit 4',
      "x",
      "a b",
      "$HOME",
    ]).map((a) => a.replaceAll(captureDir, dir));
    let status = 0;
    let stdout = "";
    try {
      stdout = execFileSync(args[0]!, args.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
      }).toString();
    } catch (err) {
      status = (err as { status: number }).status;
      stdout = (err as { stdout: Buffer }).stdout.toString();
    }
    assert.equal(status, 4);
    assert.equal(stdout, "a b|$HOME|");
    assert.equal(readFileSync(join(dir, "stdout"), "utf8"), "a b|$HOME|");
    assert.equal(readFileSync(join(dir, "stderr"), "utf8"), "err\n");
  });
});
