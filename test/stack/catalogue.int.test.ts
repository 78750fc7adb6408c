/**
 * The catalogue against a real npm registry (verdaccio on loopback): an npm stack installs
 * once, with its dependencies, and later runs load it from the cache with no npm and no
 * network; each way an install can fail is one line, and leaves nothing in the cache.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { HlnError } from "../../src/errors.js";
import { listStacks, locateStack } from "../../src/stack/catalogue.js";
import { parseStackRef } from "../../src/stack/stack-ref.js";
import { startNpmRegistry, type TestNpmRegistry, unusedPort } from "../helpers/npm-registry.js";
import { tempDir } from "../helpers/temp-dir.js";

const shopStack = (version: string) => `import { defineStack } from "hln";
import { greeting } from "hln-test-dep";

export default defineStack({
  name: "test-shop",
  version: "${version}",
  description: \`a shop that says \${greeting}\`,
  tags: ["web"],
  inputs: { port: { type: "number", default: 8080 } },
  actions: { up: ({ inputs }) => ({ port: inputs.port, greeting }) },
});
`;

const manifest = (fields: Record<string, unknown>) => JSON.stringify(fields, null, 2);

/** A line, no stack trace, and the code that maps to exit 2 (not 70). */
function oneLine(code: string, pattern: RegExp) {
  return (e: HlnError) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  };
}

describe("npm stacks from a loopback registry", { timeout: 300_000 }, () => {
  let npm: TestNpmRegistry;
  const cacheHome = tempDir("hln-xdg-cache-");
  const cache = join(cacheHome, "hln", "stacks");
  let env: NodeJS.ProcessEnv;
  const progress: string[] = [];
  const options = () => ({ env, onProgress: (l: string) => progress.push(l) });

  before(async () => {
    npm = await startNpmRegistry();
    env = { ...process.env, ...npm.env, XDG_CACHE_HOME: cacheHome };
    await npm.publish({
      "package.json": manifest({
        name: "hln-test-dep",
        version: "1.0.0",
        type: "module",
        main: "index.js",
      }),
      "index.js": 'export const greeting = "bonjour";\n',
    });
    for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
      await npm.publish({
        "package.json": manifest({
          name: "hln-test-shop",
          version,
          type: "module",
          exports: { ".": { import: "./stack.ts" } },
          dependencies: { "hln-test-dep": "^1.0.0" },
          // A registry without hln: were peers fetched, the install would fail.
          peerDependencies: { hln: "*" },
        }),
        "stack.ts": shopStack(version),
      });
    }
    // No "type": a .ts stack in node_modules must load as ESM all the same.
    await npm.publish({
      "package.json": manifest({ name: "@hln-test/untyped", version: "0.3.0" }),
      "stack.ts": `import { defineStack } from "hln";\nexport default defineStack({ name: "untyped", version: "0.3.0", actions: { up: () => "ok" } });\n`,
    });
    await npm.publish({
      "package.json": manifest({
        name: "hln-test-notstack",
        version: "1.0.0",
        type: "module",
        main: "index.js",
      }),
      "index.js": "export default { hello: 1 };\n",
    });
  });

  before(async () => {
    await npm.publish({
      "package.json": manifest({ name: "hln-test-broken", version: "1.0.0", type: "module" }),
      "stack.ts":
        'import { defineStack } from "hln";\nexport default defineStack({ name: "x" version: "1" });\n',
    });
  });

  after(async () => {
    await npm?.remove();
  });

  /** What the cache holds besides the index: installed versions, nothing half-made. */
  const cached = () =>
    existsSync(cache)
      ? readdirSync(cache)
          .filter((n) => n !== "index")
          .sort()
      : [];

  test("unknown package: one line naming it and the registry, nothing cached", async () => {
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-nope"), options()),
      oneLine("E_USAGE", new RegExp(`^npm:hln-test-nope: no package hln-test-nope on ${npm.url}`)),
    );
    assert.deepEqual(cached(), []);
  });

  test("unknown version: one line listing the versions that exist", async () => {
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-shop@^7"), options()),
      oneLine(
        "E_USAGE",
        /^npm:hln-test-shop@\^7: no version of hln-test-shop matches "\^7" on .*; versions: 1\.0\.0, 1\.1\.0, 2\.0\.0$/,
      ),
    );
    assert.deepEqual(cached(), []);
  });

  test("a package that does not export a stack: one line naming it, removed again", async () => {
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-notstack"), options()),
      oneLine(
        "E_STACK_INVALID",
        /^npm:hln-test-notstack@1\.0\.0 is not a stack: its module index\.js does not default-export one/,
      ),
    );
    assert.deepEqual(cached(), []);
  });

  test("a package whose stack does not compile: one line with the file and line, removed", async () => {
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-broken"), options()),
      oneLine(
        "E_STACK_INVALID",
        /^npm:hln-test-broken@1\.0\.0: its stack stack\.ts does not load: .*\/stack\.ts:2:\d+: Expected "}" but found "version"$/,
      ),
    );
    assert.deepEqual(cached(), []);
  });

  test("unreachable registry: one line naming its URL, after one quick retry", async () => {
    const port = await unusedPort();
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-shop"), {
        env: { ...env, npm_config_registry: `http://127.0.0.1:${port}/` },
      }),
      oneLine(
        "E_USAGE",
        new RegExp(
          `^npm:hln-test-shop: cannot reach the npm registry http://127\\.0\\.0\\.1:${port}/ \\(.*ECONNREFUSED.*\\); npm retried once`,
        ),
      ),
    );
    assert.deepEqual(cached(), []);
  });

  test("no npm on PATH: one line saying so", async () => {
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-shop"), { env: { ...env, PATH: "/nonexistent" } }),
      oneLine("E_USAGE", /^npm:hln-test-shop: npm is not on PATH/),
    );
    assert.deepEqual(cached(), []);
  });

  test("cancelled while npm runs: E_ABORTED, nothing left in the cache", async () => {
    const ac = new AbortController();
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-shop@^1"), {
        env,
        signal: ac.signal,
        onProgress: () => setTimeout(() => ac.abort(), 100),
      }),
      (e: HlnError) => e.code === "E_ABORTED",
    );
    assert.deepEqual(cached(), []);
  });

  test("a cache that cannot be written: one line naming it", async () => {
    const file = join(tempDir("hln-not-a-dir-"), "file");
    writeFileSync(file, "");
    await assert.rejects(
      locateStack(parseStackRef("npm:hln-test-shop"), { env: { ...env, XDG_CACHE_HOME: file } }),
      oneLine(
        "E_USAGE",
        new RegExp(
          `^npm:hln-test-shop: cannot write hln's stack cache ${file}/hln/stacks: ENOTDIR`,
        ),
      ),
    );
  });

  test("first use installs the range's newest match with its dependencies", async () => {
    progress.length = 0;
    const found = await locateStack(parseStackRef("npm:hln-test-shop@^1"), options());
    assert.equal(found.source, "npm");
    assert.deepEqual(found.package, { name: "hln-test-shop", version: "1.1.0" });
    assert.equal(found.reference, "npm:hln-test-shop@1.1.0");
    assert.equal(found.stack.name, "test-shop");
    // The description comes from the dependency: it was installed too.
    assert.equal(found.stack.description, "a shop that says bonjour");
    assert.equal(
      found.file,
      join(cache, "hln-test-shop@1.1.0/node_modules/hln-test-shop/stack.ts"),
    );
    assert.equal(found.directory, join(cache, "hln-test-shop@1.1.0/node_modules/hln-test-shop"));
    assert.deepEqual(await found.stack.actions.up!({ inputs: { port: 1 } } as never), {
      port: 1,
      greeting: "bonjour",
    });
    assert.equal(progress.length, 1);
    assert.match(progress[0]!, /^installing npm:hln-test-shop@\^1 into .*hln\/stacks \.\.\.$/);
    assert.deepEqual(cached(), ["hln-test-shop@1.1.0"]);
    assert.ok(!existsSync(join(cache, "hln-test-shop@1.1.0/node_modules/hln")), "peer hln fetched");
  });

  test("a .ts stack in a package without type: module loads as ESM", async () => {
    const found = await locateStack(parseStackRef("npm:@hln-test/untyped"), options());
    assert.equal(found.stack.name, "untyped");
    assert.equal(found.reference, "npm:@hln-test/untyped@0.3.0");
    assert.ok(cached().includes("@hln-test+untyped@0.3.0"));
  });

  test("two installs of one reference at once: both succeed, one copy", async () => {
    const [a, b] = await Promise.all([
      locateStack(parseStackRef("npm:hln-test-shop@2.0.0"), options()),
      locateStack(parseStackRef("npm:hln-test-shop@2"), options()),
    ]);
    assert.equal(a.package?.version, "2.0.0");
    assert.equal(b.package?.version, "2.0.0");
    assert.deepEqual(
      cached().filter((n) => n.startsWith("hln-test-shop@")),
      ["hln-test-shop@1.1.0", "hln-test-shop@2.0.0"],
    );
  });

  test("with the registry stopped and no npm on PATH, the same references load from the cache", async () => {
    await npm.stop();
    progress.length = 0;
    const offline = {
      env: { ...env, PATH: "/nonexistent" },
      onProgress: (l: string) => progress.push(l),
    };
    const again = await locateStack(parseStackRef("npm:hln-test-shop@^1"), offline);
    assert.equal(again.reference, "npm:hln-test-shop@1.1.0");
    const exact = await locateStack(parseStackRef("npm:hln-test-shop@1.1.0"), offline);
    assert.equal(exact.file, again.file);
    const byName = await locateStack(parseStackRef("test-shop"), offline);
    assert.equal(byName.reference, "npm:hln-test-shop@2.0.0", "the newest cached version");
    const byVersion = await locateStack(parseStackRef("test-shop@1.1.0"), offline);
    assert.equal(byVersion.reference, "npm:hln-test-shop@1.1.0");
    const byPackage = await locateStack(parseStackRef("hln-test-shop@2.0.0"), offline);
    assert.equal(byPackage.reference, "npm:hln-test-shop@2.0.0");
    assert.deepEqual(progress, [], "nothing was installed");
  });

  test("an unknown version of a cached stack lists the versions that exist", async () => {
    await assert.rejects(
      locateStack(parseStackRef("test-shop@9.9.9"), { env }),
      oneLine(
        "E_USAGE",
        /^stack test-shop has no version 9\.9\.9; versions: .*1\.1\.0 \(npm:hln-test-shop@1\.1\.0\).*2\.0\.0/,
      ),
    );
  });

  test("listStacks: the bundled stacks and the cached npm stacks, by name", async () => {
    const list = await listStacks({ env });
    assert.deepEqual(
      list.map((s) => `${s.name} ${s.version} ${s.source} ${s.reference}`),
      [
        "hello 0.1.0 bundled hello@0.1.0",
        "node-api 0.1.0 bundled node-api@0.1.0",
        "test-shop 2.0.0 npm npm:hln-test-shop@2.0.0",
        "test-shop 1.1.0 npm npm:hln-test-shop@1.1.0",
        "untyped 0.3.0 npm npm:@hln-test/untyped@0.3.0",
        "web-api-db 0.1.0 bundled web-api-db@0.1.0",
      ],
    );
    const shop = list.find((s) => s.version === "1.1.0");
    assert.equal(shop?.description, "a shop that says bonjour");
    assert.deepEqual(shop?.tags, ["web"]);
  });
});

describe("bundled and local stacks", () => {
  const env = { ...process.env, XDG_CACHE_HOME: tempDir("hln-xdg-cache-") };

  test("-s hello finds the bundled stack; -s hello@0.1.0 too", async () => {
    const found = await locateStack(parseStackRef("hello"), { env });
    assert.equal(found.source, "bundled");
    assert.equal(found.reference, "hello@0.1.0");
    assert.match(found.file, /\/stacks\/hello\/stack\.ts$/);
    assert.equal((await locateStack(parseStackRef("hello@0.1.0"), { env })).file, found.file);
  });

  test("-s hello@9: one line listing the versions", async () => {
    await assert.rejects(
      locateStack(parseStackRef("hello@9"), { env }),
      oneLine("E_USAGE", /^stack hello has no version 9; versions: 0\.1\.0 \(bundled\)$/),
    );
  });

  test("an unknown stack: one line listing the stacks and hln list stacks", async () => {
    await assert.rejects(
      locateStack(parseStackRef("nope"), { env }),
      oneLine(
        "E_USAGE",
        /^no stack named nope; stacks: hello, node-api, web-api-db \(see `hln list stacks`/,
      ),
    );
  });

  test("a directory: loaded from the path, relative to cwd", async () => {
    const found = await locateStack(parseStackRef("./stacks/hello"), {
      env,
      cwd: join(import.meta.dirname, "../.."),
    });
    assert.equal(found.source, "local");
    assert.equal(found.reference, found.directory);
    assert.match(found.directory, /\/stacks\/hello$/);
  });
});
