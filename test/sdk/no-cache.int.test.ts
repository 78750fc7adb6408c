/**
 * A dag made with `noCache` (`hln up --no-cache`) runs every step again: hln's own steps
 * and the instructions of a Dockerfile the graph builds.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine, StatusLog } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("noCache", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  it("runs a cached Dockerfile RUN and a cached withExec again", async () => {
    const n = nonce();
    const ctx = tempDir("hln-no-cache-");
    writeFileSync(join(ctx, "Dockerfile"), `FROM busybox\nRUN echo dockerfile-${n} > /d\n`);
    const build = async (noCache: boolean) => {
      const log = new StatusLog();
      const dag = createDag({ connection: engine.buildkit, onStatus: log.onStatus, noCache });
      try {
        const image = await dag.host().directory(ctx).dockerBuild();
        await image.withExec(["sh", "-c", `echo exec-${n}`]).sync();
      } finally {
        await dag.close();
      }
      return log;
    };
    await build(false);
    const cached = await build(false);
    assert.ok(cached.byName(/dockerfile-/).every((v) => !v.ran));
    assert.ok(cached.byName(/exec-/).every((v) => !v.ran));
    const fresh = await build(true);
    assert.ok(
      fresh.byName(/dockerfile-/).some((v) => v.ran),
      "the RUN ran again",
    );
    assert.ok(
      fresh.byName(/exec-/).some((v) => v.ran),
      "the withExec ran again",
    );
  });
});
