/**
 * Dockerfile builds through the ledger, on the real engine: an unchanged rerun is answered
 * without BuildKit (the frontend's Definition, its image config and the export all come
 * from the ledger), and each thing the build depends on, changed, runs it on the engine
 * again with the new answer: a byte of a copied file (same size and mtime), the Dockerfile,
 * a build argument, and the image a FROM line's tag names.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag, type Dag } from "../../src/sdk/dag.js";
import { pinnedImage } from "../../src/sdk/ledger.js";
import { watchBuildkit } from "../helpers/buildkit-watch.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("Dockerfile builds through the ledger", () => {
  let engine: Engine;
  const n = nonce();
  const directory = join(tempDir("hln-ledger-df-"), "ledger");
  const ctx = join(tempDir("hln-ledger-df-ctx-"), "ctx");
  // The FROM line's name: busybox first, then moved to debian.
  const base = `hln-ledger-df-${n}:base`;
  const image = `hln-ledger-df-${n}:built`;
  before(async () => {
    engine = await requireEngine();
    mkdirSync(ctx);
    const tag = spawnSync("docker", ["tag", "busybox:latest", base]);
    assert.equal(tag.status, 0, String(tag.stderr));
  });
  after(() => {
    engine?.close();
    for (const name of [image, base]) spawnSync("docker", ["rmi", name], { stdio: "ignore" });
  });

  /** One run with the ledger: its answer, how often BuildKit was reached, how many hits. */
  async function run(buildArgs: Record<string, string> = {}) {
    const { connection, reached } = watchBuildkit(engine.buildkit);
    let hits = 0;
    const dag: Dag = createDag({
      connection,
      docker: engine,
      ledger: { directory, onHit: () => hits++ },
    });
    try {
      const built = await dag.host().directory(ctx).dockerBuild({ buildArgs });
      const id = await built.asImage(image);
      const value = await built.file("/out").contents();
      return { value, id, buildkit: reached(), hits };
    } finally {
      await dag.close();
    }
  }

  function writeContext(dockerfile: string, data: string): void {
    writeFileSync(join(ctx, "Dockerfile"), dockerfile);
    writeFileSync(join(ctx, "data.txt"), data);
  }
  const dockerfile = (extra = "") =>
    `FROM ${base}\nARG GREETING=hi\nCOPY data.txt /data.txt\nRUN { echo "$GREETING"; cat /data.txt; [ -e /bin/busybox ] && echo busybox || echo other; } > /out${extra}\n`;

  it("answers an unchanged rerun without BuildKit, and runs each change on the engine", async () => {
    writeContext(dockerfile(), "aaaa\n");
    // Files written now are within the racy window: they are compared by content too.
    const first = await run();
    assert.equal(first.value, "hi\naaaa\nbusybox\n");
    assert.ok(first.buildkit > 0);
    // The frontend's answer is recorded by the run that asked the engine for it; the
    // export and the read of a result built on it by the first run that finds it there.
    await run();
    const again = await run();
    assert.deepEqual(
      { value: again.value, id: again.id, buildkit: again.buildkit },
      { value: first.value, id: first.id, buildkit: 0 },
    );
    assert.ok(again.hits >= 3, `hits: ${again.hits}`);

    // One byte of a copied file, same size, its mtime put back: only ctime and content differ.
    const data = join(ctx, "data.txt");
    const { atime, mtime } = statSync(data);
    writeFileSync(data, "aaab\n");
    utimesSync(data, atime, mtime);
    const byte = await run();
    assert.ok(byte.buildkit > 0, "a changed byte reaches BuildKit");
    // BuildKit's own sync resends a file by its size and mtime alone (as for docker build):
    // a new mtime makes it take the new byte.
    utimesSync(data, new Date(), new Date());
    assert.equal((await run()).value, "hi\naaab\nbusybox\n");

    writeFileSync(join(ctx, "Dockerfile"), dockerfile(" && echo changed >> /out"));
    const edited = await run();
    assert.equal(edited.value, "hi\naaab\nbusybox\nchanged\n");
    assert.ok(edited.buildkit > 0, "a changed Dockerfile reaches BuildKit");

    const arg = await run({ GREETING: "hello" });
    assert.equal(arg.value, "hello\naaab\nbusybox\nchanged\n");
    assert.ok(arg.buildkit > 0, "a new build argument reaches BuildKit");

    // The FROM line's name now gives another image.
    const moved = spawnSync("docker", ["tag", "debian:bookworm-slim", base]);
    assert.equal(moved.status, 0, String(moved.stderr));
    const rebased = await run({ GREETING: "hello" });
    assert.equal(rebased.value, "hello\naaab\nother\nchanged\n");
    assert.ok(rebased.buildkit > 0, "a moved FROM tag reaches BuildKit");
    assert.notEqual(rebased.id, arg.id);
  });
});

describe("pinnedImage", () => {
  it("asks for the tag a pinned reference came from, or the digest when it has no tag", () => {
    const d = `sha256:${"a".repeat(64)}`;
    assert.deepEqual(pinnedImage(`docker.io/library/debian:bookworm-slim@${d}`), {
      name: "docker.io/library/debian:bookworm-slim",
      digest: d,
    });
    assert.deepEqual(pinnedImage(`registry:5000/app@${d}`), {
      name: `registry:5000/app@${d}`,
      digest: d,
    });
    assert.equal(pinnedImage("docker.io/library/busybox:latest"), undefined);
  });
});
