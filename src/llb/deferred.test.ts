import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { deferredOutput, pendingDeferred } from "./deferred.js";
import { definition } from "./definition.js";
import { fileOp } from "./file-op.js";
import { fromDefinition } from "./from-definition.js";
import { imageSource } from "./source.js";
import { vertexDigest } from "./vertex.js";

const platform = { os: "linux", architecture: "amd64" };
const onTop = (base: Parameters<typeof fileOp>[0]["base"]) =>
  fileOp({ base, actions: [{ kind: "mkdir", path: "/a", mode: 0o755 }] });

describe("deferredOutput", () => {
  it("is a leaf until resolved; marshaling a graph on it then is a bug", () => {
    const d = deferredOutput("the result of x");
    const top = onTop(d.output);
    assert.deepEqual(pendingDeferred([top]), [d]);
    assert.throws(
      () => definition(top),
      (e: unknown) =>
        e instanceof HlnError && e.code === "E_INTERNAL" && /result of x/.test(e.message),
    );
  });

  it("once resolved, a graph on it is byte for byte the graph on its target", () => {
    const target = fromDefinition(definition(imageSource("busybox", { platform })));
    const d = deferredOutput("the result of x");
    const top = onTop(d.output);
    d.resolve(target);
    assert.deepEqual(pendingDeferred([top]), []);
    assert.equal(vertexDigest(d.output.vertex), vertexDigest(target.vertex));
    assert.deepEqual(definition(top), definition(onTop(target)));
    assert.deepEqual(definition(d.output), definition(target));
    assert.throws(() => d.resolve(target), /resolved twice/);
  });
});
