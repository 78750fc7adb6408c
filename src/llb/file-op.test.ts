import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import type { FileActionCopy, FileActionMkFile, FileOp } from "../gen/buildkit/ops_pb.js";
import { fileOp } from "./file-op.js";
import { imageSource } from "./source.js";
import type { Output } from "./vertex.js";

const platform = { os: "linux", architecture: "amd64" };
const img = imageSource("alpine", { platform });
const other = imageSource("busybox", { platform });

const file = (o: Output): FileOp => {
  assert.equal(o.vertex.op.case, "file");
  return o.vertex.op.value as FileOp;
};
const indices = (o: Output) =>
  file(o).actions.map((a) => [Number(a.input), Number(a.secondaryInput), Number(a.output)]);

describe("fileOp", () => {
  it("chains actions: base first, then previous results; only the last has output 0", () => {
    const out = fileOp({
      base: img,
      actions: [
        { kind: "mkdir", path: "/a", mode: 0o755 },
        { kind: "copy", src: other, srcPath: "/bin/sh", destPath: "/a/" },
        { kind: "copy", src: img, srcPath: "/etc", destPath: "/b" },
        { kind: "rm", path: "/a/x" },
      ],
    });
    // inputs: [img, other]; action i > 0 reads len(inputs) + i - 1.
    assert.deepEqual(out.vertex.inputs, [img, other]);
    assert.deepEqual(indices(out), [
      [0, -1, -1],
      [2, 1, -1],
      [3, 0, -1],
      [4, -1, 0],
    ]);
    assert.equal(out.index, 0);
    assert.equal(out.vertex.platform, undefined);
    assert.deepEqual(out.vertex.metadata.caps, ["file.base"]);
  });

  it("uses -1 for a scratch base and a scratch copy source", () => {
    const out = fileOp({
      actions: [{ kind: "copy", src: null, srcPath: "/", destPath: "/" }],
    });
    assert.deepEqual(out.vertex.inputs, []);
    assert.deepEqual(indices(out), [[-1, -1, 0]]);
  });

  it("masks mkfile/mkdir modes, marks unset timestamps -1, writes owner by id", () => {
    const out = fileOp({
      actions: [
        {
          kind: "mkfile",
          path: "x/../f",
          data: new Uint8Array([1, 2]),
          mode: 0o4755,
          owner: { user: 0, group: 0 },
        },
      ],
    });
    const mk = file(out).actions[0]!.action.value as FileActionMkFile;
    assert.equal(mk.path, "/f");
    assert.equal(mk.mode, 0o755);
    assert.equal(mk.timestamp, -1n);
    assert.deepEqual(mk.owner!.user!.user, { case: "byId", value: 0 });
    assert.deepEqual(mk.owner!.group!.user, { case: "byId", value: 0 });
  });

  it("writes copy defaults: mode -1, timestamp -1, cleaned paths", () => {
    const out = fileOp({
      base: img,
      actions: [{ kind: "copy", src: other, srcPath: "etc/", destPath: "dest/" }],
    });
    const cp = file(out).actions[0]!.action.value as FileActionCopy;
    assert.equal(cp.src, "/etc");
    assert.equal(cp.dest, "/dest/");
    assert.equal(cp.mode, -1);
    assert.equal(cp.timestamp, -1n);
    assert.equal(cp.owner, undefined);
  });

  it("converts createdTime to Unix nanoseconds and keeps an explicit copy mode", () => {
    const out = fileOp({
      actions: [
        {
          kind: "copy",
          src: other,
          srcPath: "/a",
          destPath: "/b",
          mode: 0o4755,
          createdTime: new Date(1_700_000_000_123),
        },
      ],
    });
    const cp = file(out).actions[0]!.action.value as FileActionCopy;
    assert.equal(cp.mode, 0o4755);
    assert.equal(cp.timestamp, 1_700_000_000_123_000_000n);
  });

  it("resolves owner names against the base input", () => {
    const out = fileOp({
      base: img,
      actions: [{ kind: "mkdir", path: "/d", mode: 0o700, owner: { user: "app", group: "staff" } }],
    });
    const owner = (file(out).actions[0]!.action.value as FileActionMkFile).owner!;
    assert.equal(owner.user!.user.case, "byName");
    assert.equal((owner.user!.user.value as { name: string; input: bigint }).name, "app");
    assert.equal((owner.user!.user.value as { input: bigint }).input, 0n);
    const scratch = fileOp({
      actions: [{ kind: "mkdir", path: "/d", mode: 0o700, owner: { user: "app" } }],
    });
    const o2 = (file(scratch).actions[0]!.action.value as FileActionMkFile).owner!;
    assert.equal((o2.user!.user.value as { input: bigint }).input, -1n);
    assert.equal(o2.group, undefined);
  });

  it("adds the patterns cap when a copy filters", () => {
    const out = fileOp({
      actions: [
        { kind: "copy", src: other, srcPath: "/", destPath: "/", excludePatterns: ["*.md"] },
      ],
    });
    assert.deepEqual(out.vertex.metadata.caps, ["file.base", "file.copy.includeexcludepatterns"]);
  });

  it("rejects no actions, bad modes and bad ids", () => {
    const bad = [
      () => fileOp({ actions: [] }),
      () => fileOp({ actions: [{ kind: "mkdir", path: "/d", mode: -1 }] }),
      () => fileOp({ actions: [{ kind: "mkdir", path: "/d", mode: 0o755, owner: { user: -5 } }] }),
      () =>
        fileOp({
          actions: [{ kind: "mkdir", path: "/d", mode: 0o755, createdTime: new Date(Number.NaN) }],
        }),
    ];
    for (const f of bad) {
      assert.throws(f, (e: unknown) => e instanceof HlnError && e.code === "E_INPUT_INVALID");
    }
  });
});
