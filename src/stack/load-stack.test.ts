import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Container } from "../sdk/container.js";
import { bundleStack, loadFailure, loadStack, shownPath } from "./load-stack.js";

describe("loadFailure", () => {
  it("keeps esbuild's place and reason, with columns counted from 1", () => {
    const file = join(process.cwd(), "stack.ts");
    const err = new Error(
      `Transform failed with 2 errors:\n${file}:3:29: ERROR: Expected ";" but found "x"\n${file}:4:1: ERROR: Unexpected "}"`,
    );
    assert.equal(loadFailure(file, err), 'stack.ts:3:30: Expected ";" but found "x" (and 1 more)');
  });

  it("names the file and the first line of any other failure", () => {
    assert.equal(
      loadFailure("/elsewhere/stack.ts", new Error("Cannot find package 'zod'\nmore")),
      "/elsewhere/stack.ts: cannot load stack: Cannot find package 'zod'",
    );
  });
});

describe("shownPath", () => {
  it("is relative inside the working directory, absolute outside", () => {
    assert.equal(shownPath("/w/conf/v.yaml", "/w"), "conf/v.yaml");
    assert.equal(shownPath("/elsewhere/v.yaml", "/w"), "/elsewhere/v.yaml");
  });
});

describe("bundleStack and loadStack", () => {
  const dirs: string[] = [];
  const cacheHome = process.env.XDG_CACHE_HOME;
  before(() => {
    // loadStack keeps its bundles under the cache directory: this test's own.
    process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), "hln-load-stack-cache-"));
    dirs.push(process.env.XDG_CACHE_HOME);
  });
  after(() => {
    if (cacheHome === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheHome;
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), "hln-load-stack-"));
    dirs.push(d);
    return d;
  };

  /** A stack outside any package, importing a .ts, a .js, JSON and a package of its own. */
  function writeStack(dir: string): string {
    mkdirSync(join(dir, "lib"));
    mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
    writeFileSync(
      join(dir, "node_modules", "dep", "package.json"),
      '{ "name": "dep", "version": "1.0.0", "type": "module", "main": "index.js" }\n',
    );
    writeFileSync(join(dir, "node_modules", "dep", "index.js"), 'export const dep = "dep";\n');
    writeFileSync(join(dir, "lib", "word.ts"), 'export const word: string = "one";\n');
    writeFileSync(join(dir, "lib", "plain.js"), "export const plain = 2;\n");
    writeFileSync(join(dir, "data.json"), '{ "n": 3 }\n');
    const file = join(dir, "stack.ts");
    writeFileSync(
      file,
      [
        'import { Container, defineStack } from "hln";',
        'import { dep } from "dep";',
        'import data from "./data.json";',
        'import { plain } from "./lib/plain.js";',
        'import { word } from "./lib/word.js";',
        "export const seen = { Container, dep, n: data.n, plain, word, url: import.meta.url };",
        'export default defineStack({ name: "s", version: "1.0.0", actions: { up: () => word } });',
        "",
      ].join("\n"),
    );
    return file;
  }

  it("binds hln to this process's SDK and loads local .ts, .js, JSON and packages", async () => {
    const dir = temp();
    const file = writeStack(dir);
    const first = await bundleStack(file, { cacheDirectory: join(dir, "cache") });
    assert.equal(first.built, true);
    const mod = (await import(first.url)) as { seen: Record<string, unknown> };
    assert.equal(mod.seen.Container, Container, "one SDK instance");
    assert.deepEqual(
      { ...mod.seen, Container: undefined },
      {
        Container: undefined,
        dep: "dep",
        n: 3,
        plain: 2,
        word: "one",
        url: pathToFileURL(file).href,
      },
    );
    const { stack } = await loadStack(file);
    assert.equal(stack.name, "s");
  });

  it("reuses the bundle while every byte is the same, and bundles again on any change", async () => {
    const dir = temp();
    const file = writeStack(dir);
    const cacheDirectory = join(dir, "cache");
    const first = await bundleStack(file, { cacheDirectory });
    const again = await bundleStack(file, { cacheDirectory });
    assert.deepEqual(again, { url: first.url, built: false });
    // Same length, one byte different, in a file the stack imports.
    writeFileSync(join(dir, "lib", "word.ts"), 'export const word: string = "two";\n');
    const changed = await bundleStack(file, { cacheDirectory });
    assert.equal(changed.built, true);
    assert.notEqual(changed.url, first.url);
    const mod = (await import(changed.url)) as { seen: { word: string } };
    assert.equal(mod.seen.word, "two");
    // A package the stack imports, reinstalled at another version, counts too.
    writeFileSync(
      join(dir, "node_modules", "dep", "package.json"),
      '{ "name": "dep", "version": "1.0.1", "type": "module", "main": "index.js" }\n',
    );
    assert.equal((await bundleStack(file, { cacheDirectory })).built, true);
    assert.equal((await bundleStack(file, { cacheDirectory })).built, false);
  });

  it("a default export or definition that throws when read is the stack's mistake, not hln's", async () => {
    const cases: [string, RegExp][] = [
      [
        "export default new Proxy({}, { get() { throw 7; } });",
        /stack\.ts: the default export is not a stack/,
      ],
      [
        'export default defineStack({ get name() { throw new Error("getter"); }, version: "1", actions: {} });',
        /stack\.ts: cannot load stack: getter$/,
      ],
      [
        'export default defineStack({ name: "s", version: "1", actions: { get x() { throw new Error("g"); } } });',
        /stack\.ts: reading the stack's definition threw: g$/,
      ],
      ["throw { toString() { throw new Error('no'); } };", /stack\.ts: cannot load stack: \{\}$/],
    ];
    for (const [code, message] of cases) {
      const dir = temp();
      const file = join(dir, "stack.ts");
      writeFileSync(file, `import { defineStack } from "hln";\n${code}\n`);
      await assert.rejects(loadStack(file), { code: "E_STACK_INVALID", message }, code);
    }
  });

  it("keeps its bundles under the cache of the env it is given", async () => {
    const dir = temp();
    const cache = temp();
    const file = writeStack(dir);
    await loadStack(file, { env: { XDG_CACHE_HOME: cache } });
    assert.ok(existsSync(join(cache, "hln", "stack-bundles")));
  });

  it("names the file, line and column of a syntax error in a file the stack imports", async () => {
    const dir = temp();
    const file = writeStack(dir);
    writeFileSync(join(dir, "lib", "word.ts"), "export const word = 1 x;\n");
    await assert.rejects(loadStack(file), {
      message: `${join(dir, "lib", "word.ts")}:1:23: Expected ";" but found "x"`,
    });
  });

  it("names a package the stack imports that is not installed", async () => {
    const dir = temp();
    const file = join(dir, "stack.ts");
    writeFileSync(file, 'import { z } from "not-installed-anywhere";\nexport default z;\n');
    await assert.rejects(loadStack(file), {
      message: `${file}:1:19: Could not resolve "not-installed-anywhere"`,
    });
  });
});
