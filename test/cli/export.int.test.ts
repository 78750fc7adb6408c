import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot, runCli } from "../helpers/run-cli.js";

// What a user meets at the command line: `export(".")` from the stack's own directory, a wipe
// aimed at it, and an image export into a place that cannot be written.
const stack = `import { defineStack } from ${JSON.stringify(join(repoRoot, "src/index.ts"))};
export default defineStack({
  name: "exports",
  version: "0.1.0",
  inputs: { dest: { type: "string", default: "." } },
  actions: {
    async here({ dag }) {
      return dag.directory().withNewFile("out.txt", "new\\n").export(".");
    },
    async wipe({ dag, inputs }) {
      return dag.directory().withNewFile("out.txt", "new\\n").export(inputs.dest, { wipe: true });
    },
    async image({ dag, inputs }) {
      return dag.container().from("busybox").withNewFile("/m", "x").export(inputs.dest);
    },
  },
});
`;

describe("hln do: exports", () => {
  // Every path a wipe is aimed at lies inside this scratch directory (or is /, which cannot be
  // renamed): a broken guard must not be able to take anything else with it.
  let scratch = "";
  let dir = "";
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "hln-cli-export-"));
    dir = join(scratch, "project");
    mkdirSync(dir);
    writeFileSync(join(dir, "stack.ts"), stack);
    writeFileSync(join(dir, "keep.txt"), "keep");
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const run = (args: string[], cwd = dir) =>
    runCli(["--log-format", "quiet", "do", ...args, "--plan", dir], { cwd });

  it('export(".") from the stack\'s directory writes into it and deletes nothing', async () => {
    const r = await run(["here"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ["keep.txt", "out.txt", "stack.ts"]);
    assert.equal(readFileSync(join(dir, "stack.ts"), "utf8"), stack);
  });

  it("a wipe of the working directory, the stack's directory or / is refused in one line, exit 2", async () => {
    const work = join(scratch, "work");
    mkdirSync(work);
    writeFileSync(join(work, "mine.txt"), "mine");
    for (const [dest, why] of [
      [".", /it is the working directory$/],
      [dir, /it is the stack's directory$/],
      [scratch, /it holds the stack's directory /],
      ["/", /it is the root directory$/],
    ] as const) {
      const r = await run(["wipe", "--set", `dest=${dest}`], work);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^hln: error: export to .*: refusing to remove /);
      assert.match(lines[0]!, why);
    }
    assert.deepEqual(readdirSync(dir).sort(), ["keep.txt", "out.txt", "stack.ts"]);
    assert.deepEqual(readdirSync(work), ["mine.txt"]);
  });

  it("an image export into a place that cannot be written: one line naming it, exit 2, no stack trace", async () => {
    // Read-only for root too: a read-only mount; for other users a 0555 directory does.
    const ro = join(scratch, "ro");
    mkdirSync(ro);
    const root = process.getuid?.() === 0;
    if (root) execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro]);
    else chmodSync(ro, 0o555);
    try {
      const r = await run(["image", "--set", `dest=${join(ro, "x.tar")}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^hln: error: export to ${ro}/x.tar: cannot write in ${ro}: (read-only file system|permission denied)\n$`,
        ),
      );
      assert.deepEqual(readdirSync(ro), [], "no temporary file left");
    } finally {
      if (root) execFileSync("umount", [ro]);
      else chmodSync(ro, 0o755);
    }
  });

  it("an export below /proc fails in one line instead of hanging in Node's mkdir -p", async () => {
    const r = await runCli(
      ["--log-format", "quiet", "do", "image", "--plan", dir, "--set", "dest=/proc/hln-nope/x.tar"],
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      "hln: error: export to /proc/hln-nope/x.tar: cannot create its parent directory /proc/hln-nope: no such file or directory\n",
    );
  });
});
