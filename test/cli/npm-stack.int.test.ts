/**
 * npm stacks through the binary: `hln show npm:PKG` installs from a loopback registry
 * (verdaccio) on first use; with the registry stopped and npm off PATH, `hln show`,
 * `hln list stacks` and `hln do up -s` still work from the cache.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startNpmRegistry, type TestNpmRegistry } from "../helpers/npm-registry.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const stack = `import { defineStack } from "hln";

export default defineStack({
  name: "cli-shop",
  version: "1.2.0",
  description: "a shop from npm",
  inputs: { greeting: { type: "string", default: "hello" } },
  actions: { up: ({ inputs }) => ({ said: inputs.greeting }) },
});
`;

describe("npm stacks through the CLI", { timeout: 300_000 }, () => {
  let npm: TestNpmRegistry;
  const cacheHome = tempDir("hln-xdg-cache-");
  let env: NodeJS.ProcessEnv;

  before(async () => {
    npm = await startNpmRegistry();
    env = { ...npm.env, XDG_CACHE_HOME: cacheHome };
    await npm.publish({
      "package.json": JSON.stringify({
        name: "hln-cli-shop",
        version: "1.2.0",
        type: "module",
        main: "stack.ts",
        peerDependencies: { hln: "*" },
      }),
      "stack.ts": stack,
    });
  });

  after(async () => {
    await npm?.remove();
  });

  test("hln show npm:PKG installs it once, saying so on stderr", async () => {
    const r = await runCli(["show", "npm:hln-cli-shop@^1"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^hln: installing npm:hln-cli-shop@\^1 into .*\/hln\/stacks \.\.\.$/m);
    assert.match(r.stdout, /cli-shop/);
    assert.match(r.stdout, /a shop from npm/);
  });

  test("hln show of an unknown package: one line, exit 2", async () => {
    const r = await runCli(["show", "npm:hln-cli-nope"], { env });
    assert.equal(r.code, 2);
    assert.deepEqual(
      r.stderr
        .trim()
        .split("\n")
        .filter((l) => l.includes("error")),
      [`hln: error: npm:hln-cli-nope: no package hln-cli-nope on ${npm.url}`],
    );
  });

  test("registry stopped, npm off PATH: show, list and do up work from the cache", async () => {
    await npm.stop();
    // runCli starts node by its full path; with this PATH no npm could run.
    const offline = { ...env, PATH: "/nonexistent" };
    const show = await runCli(["show", "npm:hln-cli-shop@^1"], { env: offline });
    assert.equal(show.code, 0, show.stderr);
    assert.doesNotMatch(show.stderr, /installing/);
    const list = await runCli(["list", "stacks", "--output", "json"], { env: offline });
    assert.equal(list.code, 0, list.stderr);
    const names = (JSON.parse(list.stdout) as { name: string; source: string }[]).map(
      (s) => `${s.name} ${s.source}`,
    );
    assert.ok(names.includes("cli-shop npm"), list.stdout);
    assert.ok(names.includes("hello bundled"), list.stdout);
    const up = await runCli(
      ["do", "up", "-s", "npm:hln-cli-shop@^1", "--set", "greeting=bonjour", "-o", "json"],
      { env: offline },
    );
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout), { said: "bonjour" });
    const byName = await runCli(["show", "cli-shop"], { env: offline });
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /npm:hln-cli-shop@1\.2\.0/);
  });
});
