import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertOneLineError, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

/** An empty cache of npm stacks, so only the bundled ones are found. */
const cache = tempDir("hln-show-cache-");
const env = { XDG_CACHE_HOME: cache };

const typed = `import { defineStack } from "hln";
export default defineStack({
  name: "typed",
  version: "2.0.0",
  description: "Every kind of input",
  tags: ["test", "inputs"],
  inputs: {
    size: { type: "enum", values: ["s", "m", "l"], default: "m", description: "how big" },
    token: { type: "secret", env: "TYPED_TOKEN", description: "never shown" },
    hosts: { type: "list", default: ["a", "b"] },
    src: { type: "path", default: ".", required: false },
    verbose: { type: "boolean", default: false },
    label: { type: "string", description: "a name for the run" },
  },
  actions: { up: () => ({}), down: () => ({}) },
});
`;

/** What the cache holds besides compiled stacks (loading a stack compiles it, once). */
const written = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (p) => p !== "hln" && !p.startsWith(join("hln", "stack-bundles")),
  );

describe("hln show", () => {
  it("describes a bundled stack by name", async () => {
    const r = await runCli(["show", "hello"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^name {9}hello\nversion {6}0\.1\.0\nsource {7}bundled: .*stacks\/hello\/stack\.ts\n/,
    );
    assert.match(r.stdout, /^INPUT +TYPE +DEFAULT +REQUIRED +ENV +DESCRIPTION$/m);
    assert.match(r.stdout, /^greeting +string +hello +no +- +\S/m);
    assert.match(r.stdout, /^actions +up$/m);
    for (const l of r.stdout.split("\n").filter((l) => !l.startsWith("source")))
      assert.ok(l.length <= 100, l);

    const json = await runCli(["show", "hello@0.1.0", "--output", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout);
    assert.equal(d.name, "hello");
    assert.equal(d.source, "bundled");
    assert.equal(d.reference, "hello@0.1.0");
    assert.deepEqual(d.actions, ["up"]);
    assert.deepEqual(
      d.inputs.map((i: { name: string }) => i.name),
      ["greeting", "rounds"],
    );
    assert.deepEqual(
      written(cache),
      [],
      "showing a bundled stack writes nothing but its compiled code",
    );
  });

  it("describes a local stack with every input type, and never a secret's value", async () => {
    const dir = tempDir("hln-show-");
    writeFileSync(join(dir, "stack.ts"), typed);
    const r = await runCli(["show", "--dir", dir], {
      env: { ...env, TYPED_TOKEN: "s3cret-value" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^source {7}local: .*stack\.ts$/m);
    assert.match(r.stdout, /^tags {9}test, inputs$/m);
    assert.match(r.stdout, /^size +enum\(s\|m\|l\) +m +no +- +how big$/m);
    assert.match(r.stdout, /^token +secret +- +yes +TYPED_TOKEN +never shown$/m);
    assert.match(r.stdout, /^hosts +list +a,b +no +-$/m);
    assert.match(r.stdout, /^src +path +\. +no +-$/m);
    assert.match(r.stdout, /^label +string +- +yes +- +a name for the run$/m);
    assert.match(r.stdout, /^run it: TYPED_TOKEN=\.\.\. hln do up --dir \S+ --set label=STRING$/m);
    assert.doesNotMatch(r.stdout, /s3cret/);

    const json = await runCli(["show", join(dir, "stack.ts"), "-o", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout);
    assert.equal(d.source, "local");
    assert.deepEqual(d.inputs[0], {
      name: "size",
      type: "enum",
      values: ["s", "m", "l"],
      default: "m",
      required: false,
      env: null,
      description: "how big",
    });
    assert.equal(d.inputs[1].default, null);
    assert.deepEqual(d.inputs[2].default, ["a", "b"]);
  });

  it("refuses bad input in one line, writing nothing", async () => {
    const root = tempDir("hln-show-bad-");
    assertOneLineError(
      await runCli(["show", "nope"], { env }),
      /^hln: error: no stack named nope; stacks: hello, node-api, web-api-db \(see `hln list stacks`/,
    );
    assertOneLineError(
      await runCli(["show", "hello@9.9.9"], { env }),
      /^hln: error: stack hello has no version 9\.9\.9; versions: 0\.1\.0 \(bundled\)$/,
    );
    assertOneLineError(await runCli(["show"], { env }), /^hln: error: show: missing STACK/);
    assertOneLineError(
      await runCli(["show", "hello", "--dir", root], { env }),
      /^hln: error: show: give STACK or --dir .*, not both$/,
    );
    assertOneLineError(
      await runCli(["show", "hello", "--output", "xml"], { env }),
      /^hln: error: --output xml: expected yaml or json$/,
    );
    assertOneLineError(
      await runCli(["show", "--dir", root], { env }),
      /^hln: error: .*: directory has no stack\.ts$/,
    );
    assertOneLineError(
      await runCli(["show", "--dir", join(root, "missing")], { env }),
      /^hln: error: .*missing: no such file or directory$/,
    );
    mkdirSync(join(root, "broken"));
    writeFileSync(
      join(root, "broken", "stack.ts"),
      'import { defineStack } from "hln";\nexport default defineStack({ name: "b" x });\n',
    );
    assertOneLineError(
      await runCli(["show", "--dir", join(root, "broken")], { env }),
      /^hln: error: .*stack\.ts:2:\d+: /,
    );
    assertOneLineError(
      await runCli(["show", "Hello"], { env }),
      /^hln: error: show Hello: expected a stack name/,
    );
    assert.deepEqual(written(cache), []);
    assert.deepEqual(readdirSync(root), ["broken"]);
  });
});
