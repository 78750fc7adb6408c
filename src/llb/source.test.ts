import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import type { SourceOp } from "../gen/buildkit/ops_pb.js";
import { goJsonStringArray, imageSource, localSource } from "./source.js";
import { type Output, vertexDigest } from "./vertex.js";

const platform = { os: "linux", architecture: "amd64" };
const source = (o: Output): SourceOp => {
  assert.equal(o.vertex.op.case, "source");
  return o.vertex.op.value as SourceOp;
};

describe("imageSource", () => {
  it("normalises the reference and sets platform and cap", () => {
    const o = imageSource("alpine", { platform, customName: "base" });
    assert.equal(source(o).identifier, "docker-image://docker.io/library/alpine:latest");
    assert.deepEqual(source(o).attrs, {});
    assert.deepEqual(o.vertex.platform, platform);
    assert.deepEqual(o.vertex.metadata.caps, ["source.image"]);
    assert.equal(o.vertex.metadata.customName, "base");
    assert.equal(o.index, 0);
    assert.equal(
      vertexDigest(o.vertex),
      "sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7",
    );
  });

  it("writes no attr for resolveMode default, like the Go client", () => {
    const o = imageSource("alpine", { platform, resolveMode: "default" });
    assert.deepEqual(source(o).attrs, {});
    assert.deepEqual(o.vertex.metadata.caps, ["source.image"]);
  });

  it("pull sets the attr and requires its cap; local sets only the attr", () => {
    const pull = imageSource("alpine", { platform, resolveMode: "pull" });
    assert.deepEqual(source(pull).attrs, { "image.resolvemode": "pull" });
    assert.deepEqual(pull.vertex.metadata.caps, ["source.image", "source.image.resolvemode"]);
    const local = imageSource("alpine", { platform, resolveMode: "local" });
    assert.deepEqual(source(local).attrs, { "image.resolvemode": "local" });
    assert.deepEqual(local.vertex.metadata.caps, ["source.image"]);
  });

  it("throws E_INPUT_INVALID on a bad reference", () => {
    assert.throws(
      () => imageSource("Bad Ref", { platform }),
      (e: unknown) => e instanceof HlnError && e.code === "E_INPUT_INVALID",
    );
  });
});

describe("localSource", () => {
  it("sets attrs and caps per option, no platform", () => {
    const o = localSource("context", {
      sessionId: "s",
      includePatterns: ["a"],
      excludePatterns: ["b"],
      followPaths: ["c"],
      sharedKeyHint: "h",
    });
    assert.equal(source(o).identifier, "local://context");
    assert.deepEqual(source(o).attrs, {
      "local.session": "s",
      "local.includepattern": '["a"]',
      "local.followpaths": '["c"]',
      "local.excludepatterns": '["b"]',
      "local.sharedkeyhint": "h",
    });
    assert.equal(o.vertex.platform, undefined);
    assert.deepEqual(o.vertex.metadata.caps, [
      "source.local",
      "source.local.excludepatterns",
      "source.local.followpaths",
      "source.local.includepatterns",
      "source.local.sessionid",
      "source.local.sharedkeyhint",
    ]);
  });

  it("uses local.unique without a session and skips empty lists", () => {
    const o = localSource("ctx", { uniqueId: "u1", includePatterns: [] });
    assert.deepEqual(source(o).attrs, { "local.unique": "u1" });
    assert.deepEqual(o.vertex.metadata.caps, ["source.local", "source.local.unique"]);
  });
});

describe("goJsonStringArray", () => {
  it("escapes like Go's encoding/json", () => {
    assert.equal(goJsonStringArray(["a<b>&c", "\u2028"]), '["a\\u003cb\\u003e\\u0026c","\\u2028"]');
  });
});
