import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { definition } from "./definition.js";
import { exec } from "./exec.js";
import { fileOp } from "./file-op.js";
import { fromDefinition } from "./from-definition.js";
import { imageSource } from "./source.js";
import { vertexDigest } from "./vertex.js";

describe("fromDefinition", () => {
  it("embeds a definition so that a graph built on it carries the same op bytes", () => {
    const platform = { os: "linux", architecture: "amd64" };
    const base = exec({
      root: imageSource("busybox", { platform }),
      args: ["sh", "-c", "echo hi > /x"],
      env: [],
      cwd: "/",
      platform,
      customName: "make x",
    }).root;
    const original = definition(base);
    const embedded = fromDefinition(original);
    assert.equal(vertexDigest(embedded.vertex), vertexDigest(base.vertex));
    // A graph on top of the embedded result is the graph on top of the original.
    const onTop = (o: typeof base) =>
      definition(fileOp({ base: o, actions: [{ kind: "mkdir", path: "/y", mode: 0o755 }] }));
    assert.deepEqual(onTop(embedded).def, onTop(base).def);
    assert.deepEqual(
      Object.keys(onTop(embedded).metadata).sort(),
      Object.keys(onTop(base).metadata).sort(),
    );
  });

  it("rejects a definition without a terminal op", () => {
    assert.throws(() => fromDefinition({ def: [], metadata: {} } as never), {
      code: "E_ENGINE_PROTOCOL",
    });
  });
});
