import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { SourceOpSchema } from "../gen/buildkit/ops_pb.js";
import { fileOp } from "./file-op.js";
import {
  createVertex,
  marshalVertex,
  type OpBody,
  outputOf,
  postOrder,
  type Vertex,
  vertexDigest,
  vertexOpMetadata,
} from "./vertex.js";

const src = (id: string): OpBody => ({
  case: "source",
  value: create(SourceOpSchema, { identifier: id }),
});

describe("createVertex", () => {
  it("sorts and de-duplicates caps and freezes the result", () => {
    const v = createVertex({ inputs: [], op: src("local://a"), caps: ["b", "a", "b"] });
    assert.deepEqual(v.metadata.caps, ["a", "b"]);
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.metadata) && Object.isFrozen(v.inputs));
  });

  it("rejects a negative output index", () => {
    const a = createVertex({ inputs: [], op: src("local://a"), caps: [] });
    assert.throws(
      () => createVertex({ inputs: [{ vertex: a, index: -1 }], op: src("local://b"), caps: [] }),
      (e: unknown) => e instanceof HlnError && e.code === "E_INTERNAL",
    );
  });
});

describe("marshalVertex", () => {
  it("memoizes: the same object every time", () => {
    const v = createVertex({ inputs: [], op: src("local://a"), caps: [] });
    assert.equal(marshalVertex(v), marshalVertex(v));
  });

  it("gives equal digests to equal ops built separately", () => {
    const a = createVertex({ inputs: [], op: src("local://a"), caps: ["x"], customName: "one" });
    const b = createVertex({ inputs: [], op: src("local://a"), caps: [], customName: "two" });
    assert.equal(vertexDigest(a), vertexDigest(b));
  });

  it("handles a 20000-op chain without recursion", () => {
    let out = fileOp({ actions: [{ kind: "mkdir", path: "/0", mode: 0o755 }] });
    for (let i = 1; i < 20000; i++) {
      out = fileOp({ base: out, actions: [{ kind: "mkdir", path: `/${i}`, mode: 0o755 }] });
    }
    assert.match(vertexDigest(out.vertex), /^sha256:[0-9a-f]{64}$/);
  });
});

describe("vertexOpMetadata", () => {
  it("puts the custom name under llb.customname beside other descriptions", () => {
    const v = createVertex({
      inputs: [],
      op: src("local://a"),
      caps: ["source.local"],
      customName: "load",
      description: { "com.example.k": "v" },
      ignoreCache: true,
    });
    const md = vertexOpMetadata(v);
    assert.deepEqual(md.description, { "com.example.k": "v", "llb.customname": "load" });
    assert.deepEqual(md.caps, { "source.local": true });
    assert.equal(md.ignoreCache, true);
  });
});

describe("postOrder", () => {
  it("lists inputs before users, each vertex once", () => {
    const a = createVertex({ inputs: [], op: src("local://a"), caps: [] });
    const b = createVertex({ inputs: [outputOf(a)], op: src("local://b"), caps: [] });
    const c = createVertex({ inputs: [outputOf(a)], op: src("local://c"), caps: [] });
    const d = createVertex({
      inputs: [outputOf(b), outputOf(c), outputOf(a)],
      op: src("local://d"),
      caps: [],
    });
    const names = postOrder(d).map(
      (v: Vertex) => (v.op.value as { identifier: string }).identifier,
    );
    assert.deepEqual(names, ["local://a", "local://b", "local://c", "local://d"]);
  });
});
