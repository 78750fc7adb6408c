import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createBuildkitConnection } from "../../src/buildkit/connection.js";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";

describe("session inside Control.Session", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  it("serves a solve when the session travels in the gRPC stream, as with a standalone buildkitd", async () => {
    // Only Docker's /grpc is used: without openSessionTunnel the session rides Control.Session.
    const conn = createBuildkitConnection({
      endpoint: "docker /grpc",
      connect: () => engine.docker.upgrade("/grpc", {}),
    });
    const dag = createDag({ connection: conn });
    try {
      const n = nonce();
      const out = await dag
        .container()
        .from("busybox")
        .withExec(["sh", "-c", `echo ${n}`])
        .stdout();
      assert.equal(out, `${n}\n`);
    } finally {
      await dag.close();
      conn.close();
    }
  });
});
