import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";

describe("results over the 16 MiB message limit", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  it("come back whole from stdout() and File.bytes()", async () => {
    const n = nonce();
    const dag = createDag({ connection: engine.buildkit });
    try {
      const c = dag
        .container()
        .from("busybox")
        .withExec([
          "sh",
          "-c",
          `echo ${n} >&2; head -c 17000000 /dev/zero | tr '\\0' a; head -c 20000001 /dev/zero > /big`,
        ]);
      const [out, big] = await Promise.all([c.stdout(), c.file("/big").bytes()]);
      assert.equal(out.length, 17_000_000);
      assert.equal(out.replaceAll("a", ""), "");
      assert.equal(big.length, 20_000_001);
      assert.equal(
        big.every((b) => b === 0),
        true,
      );
    } finally {
      await dag.close();
    }
  });
});
