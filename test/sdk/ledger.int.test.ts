/**
 * The ledger through the SDK on the real engine, for what the CLI test does not reach: an
 * image stored in the Docker engine, and a request that must always run on the engine (a
 * secret). Dockerfile builds: ledger-dockerfile.int.test.ts. BuildKit is watched through the connection itself: a run that
 * touches its Control API, gateway or session tunnel counts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag, type Dag } from "../../src/sdk/dag.js";
import { watchBuildkit } from "../helpers/buildkit-watch.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the ledger through the SDK", () => {
  let engine: Engine;
  const directory = join(tempDir("hln-ledger-sdk-"), "ledger");
  const names: string[] = [];
  before(async () => {
    engine = await requireEngine();
  });
  after(() => {
    engine?.close();
    // The CLI, unbounded: removing an image's last name can take the daemon a while.
    for (const name of names) spawnSync("docker", ["rmi", name], { stdio: "ignore" });
  });

  /** Runs `fn` on a dag with the ledger; says how often BuildKit was reached and what hit. */
  async function run<T>(fn: (dag: Dag) => Promise<T>) {
    const { connection, reached } = watchBuildkit(engine.buildkit);
    let hits = 0;
    const dag = createDag({
      connection,
      docker: engine,
      ledger: { directory, onHit: () => hits++ },
    });
    try {
      return { value: await fn(dag), buildkit: reached(), hits };
    } finally {
      await dag.close();
    }
  }

  const inspect = (ref: string) =>
    engine.docker.json<{ Id: string }>("GET", `/images/${encodeURIComponent(ref)}/json`);

  it("stores an image once, then only checks its tag, and names it again when the tag was removed", async () => {
    const n = nonce();
    const name = `hln-ledger-sdk-${n}:v1`;
    const keep = `hln-ledger-sdk-${n}:keep`;
    names.push(name, keep);
    const build = (dag: Dag) =>
      dag
        .container()
        .from("busybox:latest")
        .withExec(["sh", "-c", `echo ${n} > /n`])
        .asImage(name);
    const first = await run(build);
    assert.ok(first.buildkit > 0);
    const second = await run(build);
    assert.equal(second.value, first.value);
    assert.deepEqual([second.buildkit, second.hits], [0, 1]);
    // The tag gone but the image kept (another name holds it): naming it again is enough.
    const id = (await inspect(name)).Id;
    await engine.docker.json(
      "POST",
      `/images/${encodeURIComponent(name)}/tag?repo=hln-ledger-sdk-${n}&tag=keep`,
    );
    await engine.docker.json("DELETE", `/images/${encodeURIComponent(name)}`);
    const third = await run(build);
    assert.deepEqual([third.buildkit, third.hits], [0, 1]);
    assert.equal((await inspect(name)).Id, id);
  });

  it("runs a step that reads a secret on the engine every time", async () => {
    const n = nonce();
    const read = (dag: Dag) =>
      dag
        .container()
        .from("busybox:latest")
        .withSecretVariable("TOKEN", dag.setSecret("token", `s-${n}`))
        .withExec(["sh", "-c", `test -n "$TOKEN" && echo ok-${n}`])
        .stdout();
    assert.equal((await run(read)).value, `ok-${n}\n`);
    const again = await run(read);
    assert.equal(again.value, `ok-${n}\n`);
    assert.ok(again.buildkit > 0, "BuildKit was reached");
    assert.equal(again.hits, 0);
  });
});
