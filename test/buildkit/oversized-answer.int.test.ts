import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { HlnError } from "../../src/errors.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { settlesWithin } from "../helpers/hang-guard.js";

describe("an engine answer too large for HTTP/2 headers", () => {
  let engine: Engine;
  let dir: string;
  before(async () => {
    engine = await requireEngine();
    dir = mkdtempSync(join(tmpdir(), "hln-oversized-"));
  });
  after(() => {
    engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ends the run with an error instead of waiting forever", async () => {
    // The failed RUN's error quotes its 100 KB command in the grpc-message trailer, one
    // header field over nghttp2's 64 KiB: Node's client drops the answer without a word.
    writeFileSync(
      join(dir, "Dockerfile"),
      `FROM busybox\nRUN echo ${nonce()}${"w".repeat(100_000)} && exit 3\n`,
    );
    const dag = createDag({ connection: engine.buildkit });
    try {
      const built = await dag.host().directory(dir).dockerBuild();
      const err = await settlesWithin(
        "the failed build",
        built.sync().then(
          () => undefined,
          (e) => e,
        ),
        120_000,
      );
      assert.ok(err instanceof HlnError, `expected an HlnError, got ${String(err)}`);
      assert.notEqual(err.code, "E_INTERNAL");
      assert.match(err.message, /HTTP\/2|exit code: 3|exited with code 3/);
    } finally {
      await dag.close().catch(() => undefined);
    }
  });
});
