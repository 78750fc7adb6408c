import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import {
  FileActionCopySchema,
  MetaSchema,
  MountSchema,
  OpSchema,
  UserOptSchema,
} from "../gen/buildkit/ops_pb.js";
import { marshalOp } from "./marshal.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => Buffer.from(s).toString("hex");

// Wire doc 2.3 golden vector, cross-checked there against real BuildKit output.
const ALPINE_ID = "docker-image://docker.io/library/alpine:latest";
const ALPINE_DIGEST = "sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7";
const ALPINE_TERMINAL_DIGEST =
  "sha256:cc5fb5962a26ee8ff47e71e02a862b4feca95de4bf8cfa231ec64fa122d6c971";

function alpineOp() {
  return create(OpSchema, {
    op: { case: "source", value: { identifier: ALPINE_ID } },
    platform: { architecture: "amd64", os: "linux" },
    constraints: {},
  });
}

describe("marshalOp", () => {
  it("reproduces the wire doc's alpine source op bytes and digest", () => {
    const { bytes, digest } = marshalOp(alpineOp());
    const expected = `1a300a2e${ascii(ALPINE_ID)}520e0a05${ascii("amd64")}1205${ascii("linux")}5a00`;
    assert.equal(hex(bytes), expected);
    assert.equal(digest, ALPINE_DIGEST);
  });

  it("reproduces the wire doc's terminal op digest", () => {
    const { bytes, digest } = marshalOp(
      create(OpSchema, { inputs: [{ digest: ALPINE_DIGEST, index: 0n }] }),
    );
    assert.equal(hex(bytes), `0a490a47${ascii(ALPINE_DIGEST)}`);
    assert.equal(digest, ALPINE_TERMINAL_DIGEST);
  });

  it("writes a set-but-empty message (constraints => 5a 00)", () => {
    const bytes = marshalOp(create(OpSchema, { constraints: {} })).bytes;
    assert.equal(hex(bytes), "5a00");
    assert.equal(marshalOp(create(OpSchema, {})).bytes.length, 0);
  });

  it("sorts map entries bytewise, writing empty values", () => {
    const op = create(OpSchema, {
      op: { case: "source", value: { identifier: "x", attrs: { k: "", b: "v", a: "" } } },
    });
    // attrs{"k": ""} alone encodes as 12 05 0a 01 6b 12 00 (wire doc 2.3).
    const attrs = "12050a0161120012060a016212017612050a016b1200";
    assert.equal(
      hex(marshalOp(op).bytes),
      `1a${(3 + attrs.length / 2).toString(16)}0a0178${attrs}`,
    );
  });

  it("gives the same digest whatever the attrs insertion order", () => {
    const mk = (attrs: Record<string, string>) =>
      marshalOp(create(OpSchema, { op: { case: "source", value: { identifier: "x", attrs } } }));
    assert.equal(mk({ a: "1", b: "2", é: "3" }).digest, mk({ é: "3", b: "2", a: "1" }).digest);
  });

  it("does not modify the op it is given", () => {
    const op = create(OpSchema, {
      op: { case: "source", value: { identifier: "x", attrs: { b: "", a: "" } } },
    });
    marshalOp(op);
    assert.equal(op.op.case, "source");
    assert.deepEqual(Object.keys(op.op.value!.attrs), ["b", "a"]);
  });

  it("rejects integer-like attr keys with E_INTERNAL", () => {
    const op = create(OpSchema, {
      op: { case: "source", value: { identifier: "x", attrs: { "1": "", a: "" } } },
    });
    assert.throws(
      () => marshalOp(op),
      (e: unknown) => e instanceof HlnError && e.code === "E_INTERNAL",
    );
  });

  it("writes a oneof member set to zero (UserOpt.byId = 0 => 10 00)", () => {
    const copy = create(FileActionCopySchema, {
      owner: { user: create(UserOptSchema, { user: { case: "byId", value: 0 } }) },
    });
    const op = create(OpSchema, {
      op: { case: "file", value: { actions: [{ action: { case: "copy", value: copy } }] } },
    });
    // file(4){actions(2){copy(4){owner(3){user(1){byId(2)=0}}}}}
    assert.equal(hex(marshalOp(op).bytes), "220a120822061a040a021000");
  });

  it("packs repeated int32 and writes -1 as a 10-byte varint", () => {
    const meta = create(MetaSchema, { validExitCodes: [0, 1, -1] });
    const op = create(OpSchema, { op: { case: "exec", value: { meta } } });
    // exec(2){meta(1){validExitCodes(12) packed: 00 01 ff..ff01}}
    assert.equal(hex(marshalOp(op).bytes), "12100a0e620c0001ffffffffffffffffff01");
  });

  it("writes -1 int64 sentinels as 10-byte varints and skips zero scalars", () => {
    const mount = create(MountSchema, { input: -1n, output: 0n, dest: "/" });
    const op = create(OpSchema, { op: { case: "exec", value: { mounts: [mount] } } });
    // exec(2){mounts(2){input(1)=-1, dest(3)="/"}}; output 0 is omitted
    assert.equal(hex(marshalOp(op).bytes), "1210120e08ffffffffffffffffff011a012f");
  });
});
