import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { assertOneLineError, repoRoot, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

/** The repository's own TypeScript, as an editor would run it on the new stack. */
function typecheck(dir: string): { code: number | null; out: string } {
  const r = spawnSync(join(repoRoot, "node_modules/.bin/tsc"), ["--noEmit", "-p", dir], {
    encoding: "utf8",
    cwd: dir,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("hln init", () => {
  it("writes a stack that runs at once and type-checks with no npm install", async () => {
    const dir = join(tempDir("hln-init-"), "My Stack");
    const init = await runCli(["init", dir]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /^Wrote stack "my-stack" in /);
    for (const f of ["stack.ts", "package.json", "tsconfig.json", "README.md", ".gitignore"])
      assert.match(init.stdout, new RegExp(`^  ${f.replace(".", "\\.")}`, "m"));
    assert.match(init.stdout, /^Next:\n {2}hln do up --dir '.*My Stack'/m);

    const greeting = `hi-${nonce()}`;
    const up = await runCli([
      "--log-format",
      "plain",
      "do",
      "up",
      "--dir",
      dir,
      "--set",
      `greeting=${greeting}`,
      "--set",
      "times=3",
      "--output",
      "json",
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout), { lines: [greeting, greeting, greeting] });

    const clean = typecheck(dir);
    assert.equal(clean.code, 0, clean.out);
    // The check can fail: a wrong use of a typed input is reported, naming the file.
    const file = join(dir, "stack.ts");
    const source = readFileSync(file, "utf8");
    writeFileSync(
      file,
      source.replace(
        "async up({ dag, inputs }) {",
        "async up({ dag, inputs }) {\n      inputs.times.toUpperCase();",
      ),
    );
    const broken = typecheck(dir);
    assert.notEqual(broken.code, 0, broken.out);
    assert.match(
      broken.out,
      /stack\.ts\(\d+,\d+\): error TS2339: Property 'toUpperCase' does not exist on type 'number'/,
    );
  });

  it("writes into the working directory, named after it, and takes one holding only .git", async () => {
    const dir = join(tempDir("hln-init-"), "web_api");
    mkdirSync(join(dir, ".git"), { recursive: true });
    const r = await runCli(["init"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Wrote stack "web-api"/);
    assert.match(r.stdout, /hln do up --dir \. /);
    assert.match(readFileSync(join(dir, "stack.ts"), "utf8"), /name: "web-api"/);
  });

  it("refuses bad input in one line, writing nothing", async () => {
    const root = tempDir("hln-init-");
    const full = join(root, "full");
    mkdirSync(full);
    writeFileSync(join(full, "stack.ts"), "mine");
    assertOneLineError(
      await runCli(["init", full]),
      /^hln: error: .*full: directory is not empty \(stack\.ts\); hln init writes only into an empty or new directory$/,
    );
    assert.equal(readFileSync(join(full, "stack.ts"), "utf8"), "mine");
    assert.deepEqual(readdirSync(full), ["stack.ts"]);

    const file = join(root, "file");
    writeFileSync(file, "");
    assertOneLineError(await runCli(["init", file]), /^hln: error: .*file: not a directory$/);

    assertOneLineError(
      await runCli(["init", join(root, "new"), "--name", "My_Stack"]),
      /^hln: error: --name My_Stack: a stack name is lowercase letters, digits and dashes/,
    );
    assertOneLineError(
      await runCli(["init", join(file, "below")]),
      /^hln: error: .*file\/below: a parent is not a directory$/,
    );
    assert.deepEqual(readdirSync(root).sort(), ["file", "full"]);
    // Where mkdir fails with ENOENT under an existing parent, Node's own mkdir -p spun for
    // ever and ignored Ctrl-C; the kill-safety bound of runCli reports such a hang.
    assertOneLineError(
      await runCli(["init", "/proc/hln-init-nope/x"], { timeoutMs: 60_000 }),
      /^hln: error: \/proc\/hln-init-nope\/x: cannot write the stack: no directory can be made there$/,
    );
  });
});
