import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DefinitionSchema, OpSchema, SourceOpSchema } from "../gen/buildkit/ops_pb.js";
import { definition, definitionDigests, definitionResult } from "./definition.js";
import { exec } from "./exec.js";
import { fileOp } from "./file-op.js";
import { imageSource } from "./source.js";
import { createVertex, outputOf, vertexDigest } from "./vertex.js";

const platform = { os: "linux", architecture: "amd64" };
const ALPINE = "sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7";
const ALPINE_TERMINAL = "sha256:cc5fb5962a26ee8ff47e71e02a862b4feca95de4bf8cfa231ec64fa122d6c971";

describe("definition", () => {
  it("reproduces the wire doc's alpine vector: op then terminal op", () => {
    const def = definition(imageSource("alpine", { platform }));
    assert.deepEqual(definitionDigests(def), [ALPINE, ALPINE_TERMINAL]);
    assert.deepEqual(definitionResult(def), { digest: ALPINE, index: 0 });
    const terminal = fromBinary(OpSchema, def.def[1]!);
    assert.equal(terminal.op.case, undefined);
    assert.equal(terminal.platform, undefined);
    assert.equal(terminal.constraints, undefined);
    assert.deepEqual(def.metadata[ALPINE]!.caps, { "source.image": true });
    assert.deepEqual(def.metadata[ALPINE_TERMINAL]!.caps, { constraints: true, platform: true });
  });

  it("lists inputs before users, each digest once, terminal last", () => {
    const img = imageSource("alpine", { platform });
    const a = exec({ root: img, args: ["a"], env: [], cwd: "/", platform }).root;
    // Built separately but identical: one op in def.
    const img2 = imageSource("docker.io/library/alpine:latest", { platform, customName: "again" });
    const b = fileOp({
      base: a,
      actions: [{ kind: "copy", src: img2, srcPath: "/x", destPath: "/y" }],
    });
    const def = definition(b);
    const digests = definitionDigests(def);
    assert.deepEqual(digests.slice(0, 3), [ALPINE, vertexDigest(a.vertex), vertexDigest(b.vertex)]);
    assert.equal(digests.length, 4);
    assert.equal(new Set(digests).size, 4);
    assert.deepEqual(definitionResult(def), { digest: vertexDigest(b.vertex), index: 0 });
    // The duplicate's custom name is merged into the shared op's metadata.
    assert.deepEqual(def.metadata[ALPINE]!.description, { "llb.customname": "again" });
    assert.deepEqual(Object.keys(def.metadata).sort(), [...digests].sort());
  });

  it("points the terminal op at the chosen output index", () => {
    const { mounts } = exec({
      root: imageSource("alpine", { platform }),
      args: ["a"],
      env: [],
      cwd: "/",
      platform,
      mounts: [{ dest: "/out", kind: "bind", source: null }],
    });
    const def = definition(mounts.get("/out")!);
    assert.equal(definitionResult(def)!.index, 1);
  });

  it("declares meta.description and meta.ignorecache on the terminal op when used", () => {
    const img = imageSource("alpine", { platform, customName: "base" });
    const run = exec({ root: img, args: ["a"], env: [], cwd: "/", platform, ignoreCache: true });
    const def = definition(run.root);
    const digests = definitionDigests(def);
    const terminal = def.metadata[digests.at(-1)!]!;
    assert.deepEqual(Object.keys(terminal.caps), [
      "constraints",
      "meta.description",
      "meta.ignorecache",
      "platform",
    ]);
    assert.equal(def.metadata[digests[1]!]!.ignoreCache, true);
  });

  it("marks every op ignoreCache under { ignoreCache: true }, and changes no op bytes", () => {
    const img = imageSource("alpine", { platform });
    const run = exec({ root: img, args: ["a"], env: [], cwd: "/", platform });
    const plain = definition(run.root);
    const fresh = definition(run.root, { ignoreCache: true });
    assert.deepEqual(fresh.def, plain.def);
    const digests = definitionDigests(fresh);
    for (const d of digests.slice(0, -1)) assert.equal(fresh.metadata[d]!.ignoreCache, true);
    assert.equal(fresh.metadata[digests.at(-1)!]!.caps["meta.ignorecache"], true);
    assert.equal(plain.metadata[digests[0]!]!.ignoreCache, false);
  });

  it("keeps each vertex's entry per ignoreCache setting when one graph is sent both ways", () => {
    const img = imageSource("alpine", { platform });
    const run = exec({ root: img, args: ["a"], env: [], cwd: "/", platform });
    const first = toBinary(DefinitionSchema, definition(run.root));
    const fresh = definition(run.root, { ignoreCache: true });
    const again = definition(run.root);
    assert.deepEqual(toBinary(DefinitionSchema, again), first);
    const [imgDigest, runDigest] = definitionDigests(again);
    for (const d of [imgDigest!, runDigest!]) {
      assert.equal(again.metadata[d]!.ignoreCache, false);
      assert.equal(fresh.metadata[d]!.ignoreCache, true);
    }
  });

  it("merges the metadata of two vertices with identical ops, sorted", () => {
    const src = (name: string, description: Record<string, string>) =>
      createVertex({
        inputs: [],
        op: { case: "source", value: create(SourceOpSchema, { identifier: "local://a" }) },
        caps: ["source.local"],
        customName: name,
        description,
      });
    const a = src("a", { "com.z": "1" });
    const b = src("b", { "com.a": "2" });
    const join = fileOp({
      base: outputOf(a),
      actions: [{ kind: "copy", src: outputOf(b), srcPath: "/", destPath: "/x" }],
    });
    const def = definition(join);
    assert.equal(def.def.length, 3);
    assert.deepEqual(Object.keys(def.metadata[vertexDigest(a)]!.description), [
      "com.a",
      "com.z",
      "llb.customname",
    ]);
  });

  it("marshals to the same bytes every time (sorted metadata map)", () => {
    const build = () => {
      const img = imageSource("alpine", { platform, customName: "z" });
      return definition(
        exec({ root: img, args: ["a"], env: [], cwd: "/", platform, customName: "a" }).root,
      );
    };
    const one = toBinary(DefinitionSchema, build());
    const two = toBinary(DefinitionSchema, build());
    assert.deepEqual(one, two);
  });

  it("sorts description keys in metadata", () => {
    const v = createVertex({
      inputs: [],
      op: { case: "source", value: create(SourceOpSchema, { identifier: "local://a" }) },
      caps: ["source.local"],
      customName: "n",
      description: { "com.z": "1", "com.a": "2" },
    });
    const def = definition(outputOf(v));
    assert.deepEqual(Object.keys(def.metadata[vertexDigest(v)]!.description), [
      "com.a",
      "com.z",
      "llb.customname",
    ]);
  });
});
