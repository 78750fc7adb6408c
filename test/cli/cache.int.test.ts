import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nonce, removeImagesMatching, requireEngine } from "../helpers/engine.js";
import { startRegistry } from "../helpers/registry.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * A stack whose one step writes a random value: a run that gets the first run's value
 * back was answered from cache, a run that re-executed the step gets a new one.
 */
function writeStack(n: string, options: { cache?: string; publish?: string } = {}): string {
  const dir = tempDir("hln-cache-");
  const publish = options.publish ? `await built.publish(${JSON.stringify(options.publish)});` : "";
  writeFileSync(
    join(dir, "stack.ts"),
    `import { defineStack } from "hln";
export default defineStack({ name: "cache", version: "0.0.1", ${options.cache ?? ""}
  actions: { async up({ dag }) {
    const built = dag.container().from("busybox")
      .withExec(["sh", "-c", "echo built-${n}-$(cat /proc/sys/kernel/random/uuid) > /r"]);
    ${publish}
    return { r: await built.file("/r").contents() };
  } } });
`,
  );
  return dir;
}

/** Runs `hln do up` on the stack, requires success, and returns the step's value. */
async function runUp(dir: string, ...flags: string[]): Promise<{ r: string; stderr: string }> {
  const res = await runCli([
    "--log-format",
    "plain",
    "do",
    "up",
    "--plan",
    dir,
    "-o",
    "json",
    ...flags,
  ]);
  assert.equal(res.code, 0, res.stderr);
  return { r: (JSON.parse(res.stdout) as { r: string }).r, stderr: res.stderr };
}

async function up(dir: string, ...flags: string[]): Promise<string> {
  return (await runUp(dir, ...flags)).r;
}

async function pruneAll(): Promise<void> {
  const r = await runCli(["engine", "prune", "--all"]);
  assert.equal(r.code, 0, r.stderr);
}

describe("build cache import and export", () => {
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    // A published image stays in the engine's store as well as the registry.
    if (registry) {
      const engine = await requireEngine();
      await removeImagesMatching(engine, `${registry.host}/*/*`).finally(() => engine.close());
    }
    await registry?.stop();
  });

  it("exports the stack's registry cache and answers a run on a pruned engine from it", async () => {
    const n = nonce();
    const ref = `${registry.host}/hln-test/cache:${n}`;
    const dir = writeStack(n, { cache: `cache: { to: ["type=registry,ref=${ref},mode=max"] },` });
    // Start clean: cache imported in an earlier run can point at a registry that is gone.
    await pruneAll();
    const first = await up(dir);
    assert.match(first, new RegExp(`built-${n}-`));
    await pruneAll();
    assert.equal(await up(dir, "--cache-from", `type=registry,ref=${ref}`), first);
  });

  it("carries inline cache in a published image and imports it from there", async () => {
    const n = nonce();
    const image = `${registry.host}/hln-test/inline:${n}`;
    const dir = writeStack(n, { publish: image });
    await pruneAll();
    const first = await up(dir, "--cache-to", "type=inline");
    await pruneAll();
    assert.equal(await up(dir, "--cache-from", image), first);
  });

  it("exports to a local directory and imports from it, warning while it is still empty", async () => {
    const n = nonce();
    const cacheDir = join(tempDir("hln-local-cache-"), "cache");
    const dir = writeStack(n);
    await pruneAll();
    const first = await runUp(
      dir,
      "--cache-from",
      `type=local,src=${cacheDir}`,
      "--cache-to",
      `type=local,dest=${cacheDir},mode=max`,
    );
    // The first CI run has no cache yet: a warning, not a failure, as with buildx.
    assert.match(first.stderr, /hln: warning: cache import skipped: .*cache/);
    assert.ok(existsSync(join(cacheDir, "index.json")), "the export wrote index.json");
    await pruneAll();
    const second = await up(dir, "--cache-from", `type=local,src=${cacheDir}`);
    assert.equal(second, first.r);
  });

  it("rejects a bad cache entry in the stack before touching the engine", async () => {
    const dir = writeStack(nonce(), { cache: `cache: { from: ["type=s3,bucket=b"] },` });
    const r = await runCli(["do", "up", "--plan", dir], {
      env: { DOCKER_HOST: "unix:///nonexistent.sock" },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stack\.ts: cache\.from\[0\] type=s3,bucket=b: unknown cache type "s3"/);
  });
});
