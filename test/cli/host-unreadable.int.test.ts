/**
 * A host directory holding what its user cannot read, sent by `hln` running as that user.
 * As root, the test drops the capabilities that let root read anything (setpriv), which is
 * what a plain user is: the Docker socket stays reachable, the files do not.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { type CliResult, repoRoot, runProgram } from "../helpers/run-cli.js";

const bin = join(repoRoot, "bin/hln.js");
const unprivileged =
  process.getuid?.() === 0
    ? [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
      ]
    : [];

function runUnprivileged(args: string[]): Promise<CliResult> {
  const argv = [...unprivileged, process.execPath, bin, ...args];
  return runProgram(argv[0] as string, argv.slice(1), {
    env: { ...process.env, NO_COLOR: "1", CI: "true" },
  });
}

describe("hln with a host directory it cannot fully read", () => {
  const tmp = mkdtempSync(join(tmpdir(), "hln-unreadable-"));
  after(() => {
    for (const d of ["ctx/secret.txt", "ctx/private", "ctx/private/inner.txt"]) {
      try {
        chmodSync(join(tmp, d), 0o755);
      } catch {}
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  // The stack lists what arrived, with sizes; a nonce makes the step run every time.
  const plan = join(tmp, "plan");
  mkdirSync(plan);
  writeFileSync(
    join(plan, "stack.ts"),
    `import { defineStack } from "hln";
export default defineStack({
  name: "unreadable",
  version: "0.1.0",
  inputs: {},
  actions: {
    async up({ dag }) {
      const dir = dag.host().directory(${JSON.stringify(join(tmp, "ctx"))});
      const out = await dag.container().from("busybox").withDirectory("/c", dir)
        .withExec(["sh", "-c", "cd /c && find . -type f | sort | xargs wc -c; echo ${nonce()} >/dev/null"])
        .stdout();
      return { out };
    },
  },
});
`,
  );
  const ctx = join(tmp, "ctx");
  mkdirSync(join(ctx, "private"), { recursive: true });
  writeFileSync(join(ctx, "a.txt"), "readable\n");
  writeFileSync(join(ctx, "secret.txt"), "not for this user\n");
  writeFileSync(join(ctx, "private/inner.txt"), "inner\n");
  chmodSync(join(ctx, "secret.txt"), 0);
  chmodSync(join(ctx, "private"), 0);

  it("fails, naming the file, instead of sending it empty", async () => {
    rmSync(join(ctx, ".dockerignore"), { force: true });
    writeFileSync(join(ctx, ".dockerignore"), "private\n");
    const r = await runUnprivileged(["do", "up", "--plan", plan]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.notEqual(r.code, 70, r.stderr);
    const last = r.stderr.trim().split("\n").at(-1) ?? "";
    assert.match(last, /^hln: error: .*cannot read .*secret\.txt: EACCES/, r.stderr);
  });

  it("never opens what the ignore file excludes", async () => {
    writeFileSync(join(ctx, ".dockerignore"), "private\nsecret.txt\n");
    const r = await runUnprivileged(["do", "up", "--plan", plan, "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout).out as string;
    assert.match(out, /\.\/a\.txt/);
    assert.doesNotMatch(out, /secret|inner/);
  });
});
