import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/temp-dir.js";
import { HlnError } from "../errors.js";
import { argvFileThreshold, captureArgs, captureDir, shimPath, wireExec } from "./exec-capture.js";
import { quoteArgv } from "./exec-failure.js";

describe("captureArgs", () => {
  it("keeps the command's exit code, streams and arguments intact (run by the host's sh)", () => {
    const dir = tempDir("hln-capture-");
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
    assert.equal(readFileSync(join(dir, "exit"), "utf8"), "4\n");
  });
});

describe("wireExec", () => {
  const dests = (w: { mounts: { dest: string }[] }) => w.mounts.map((m) => m.dest).sort();

  it("puts the shim in front of the command on amd64 and arm64, read-only", () => {
    for (const arch of ["amd64", "arm64"]) {
      const w = wireExec(["echo", "hi"], arch, { capture: true });
      assert.deepEqual(w.wireArgs, [shimPath, "echo", "hi"]);
      assert.deepEqual(dests(w), ["/.hln/out", "/.hln/shim"]);
      const shim = w.mounts.find((m) => m.dest === "/.hln/shim");
      assert.equal(shim?.kind === "bind" && shim.readonly, true);
    }
  });

  it("keeps a command that looks like an option from being read as one", () => {
    const w = wireExec(["-weird"], "amd64", { capture: true });
    assert.deepEqual(w.wireArgs, [shimPath, "--", "-weird"]);
  });

  it("falls back to the sh wrapper where there is no shim, and runs bare without capture", () => {
    const w = wireExec(["echo", "hi"], "riscv64", { capture: true });
    assert.deepEqual(w.wireArgs, captureArgs(["echo", "hi"]));
    assert.deepEqual(dests(w), ["/.hln/out"]);
    assert.deepEqual(wireExec(["echo", "hi"], "amd64", { capture: false }), {
      wireArgs: ["echo", "hi"],
      mounts: [],
      validExitCodes: undefined,
    });
  });

  it("lets the shim accept exit codes when 0 is among them, else the engine", () => {
    const byShim = wireExec(["t"], "amd64", { capture: true, validExitCodes: [3, 0, 3] });
    assert.deepEqual(byShim.wireArgs, [shimPath, "-x0,3", "t"]);
    assert.equal(byShim.validExitCodes, undefined);
    const byEngine = wireExec(["t"], "amd64", { capture: true, validExitCodes: [3] });
    assert.deepEqual(byEngine.wireArgs, [shimPath, "t"]);
    assert.deepEqual(byEngine.validExitCodes, [3]);
    assert.throws(
      () => wireExec(["t"], "amd64", { capture: true, validExitCodes: [0, 256] }),
      (e) => e instanceof HlnError && e.code === "E_USAGE" && /256/.test(e.message),
    );
  });

  it("sends a long argv in a file, so the argv engine errors quote stays short", () => {
    for (const capture of [true, false]) {
      const args = ["echo", "x".repeat(200_000)];
      const w = wireExec(args, "amd64", { capture });
      assert.equal(w.wireArgs.length, 2);
      assert.match(w.wireArgs[1]!, /^-@\/\.hln\/argv\/[0-9a-f]{16}$/);
      assert.ok(quoteArgv(w.wireArgs).length < argvFileThreshold);
      assert.deepEqual(
        dests(w),
        capture ? ["/.hln/argv", "/.hln/out", "/.hln/shim"] : ["/.hln/argv", "/.hln/shim"],
      );
      // Another argv, another file name: failures still map back to their step.
      const other = wireExec(["echo", "y".repeat(200_000)], "amd64", { capture });
      assert.notEqual(other.wireArgs[1], w.wireArgs[1]);
    }
  });
});
