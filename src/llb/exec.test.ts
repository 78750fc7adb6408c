import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { type ExecOp, MountType, NetMode } from "../gen/buildkit/ops_pb.js";
import { Cap } from "./caps.js";
import { type ExecOptions, exec } from "./exec.js";
import { imageSource } from "./source.js";
import { type Output, toOp } from "./vertex.js";

const platform = { os: "linux", architecture: "amd64" };
const img = imageSource("alpine", { platform });
const other = imageSource("busybox", { platform });
const base: ExecOptions = { root: img, args: ["true"], env: [], cwd: "/", platform };

const execOp = (o: Output): ExecOp => {
  assert.equal(o.vertex.op.case, "exec");
  return o.vertex.op.value as ExecOp;
};
const summary = (o: Output) =>
  execOp(o).mounts.map((m) => [m.dest, Number(m.input), Number(m.output), m.mountType] as const);

describe("exec", () => {
  it("mounts the root at / with input 0 and output 0", () => {
    const { root, mounts } = exec(base);
    assert.deepEqual(summary(root), [["/", 0, 0, MountType.BIND]]);
    assert.equal(root.index, 0);
    assert.equal(mounts.size, 0);
    assert.deepEqual(root.vertex.inputs, [img]);
    assert.deepEqual(root.vertex.platform, platform);
    const meta = execOp(root).meta!;
    assert.equal(meta.removeMountStubsRecursive, true);
    // No cap for removeMountStubsRecursive: the daemon does not register one.
    assert.deepEqual(root.vertex.metadata.caps, ["exec.meta.base", "exec.mount.bind"]);
  });

  it("uses input -1 for a scratch root", () => {
    const { root } = exec({ ...base, root: null });
    assert.deepEqual(summary(root), [["/", -1, 0, MountType.BIND]]);
    assert.deepEqual(root.vertex.inputs, []);
    // Go adds exec.mount.bind only for mounts with a source.
    assert.deepEqual(root.vertex.metadata.caps, ["exec.meta.base"]);
  });

  it("sorts mounts by dest, numbers writable binds, dedupes inputs, secrets last", () => {
    const { root, mounts } = exec({
      ...base,
      mounts: [
        { dest: "/z", kind: "bind", source: null },
        { dest: "/s", kind: "secret", id: "tok" },
        { dest: "/c", kind: "cache", id: "c1", sharing: "locked", source: other },
        { dest: "/b", kind: "bind", source: other, readonly: true, selector: "/etc" },
        { dest: "/t", kind: "tmpfs" },
        { dest: "/a", kind: "bind", source: img },
      ],
    });
    assert.deepEqual(summary(root), [
      ["/", 0, 0, MountType.BIND],
      ["/a", 0, 1, MountType.BIND],
      ["/b", 1, -1, MountType.BIND],
      ["/c", 1, -1, MountType.CACHE],
      ["/t", -1, -1, MountType.TMPFS],
      ["/z", -1, 2, MountType.BIND],
      // Go leaves Mount.output unset (0) on secret mounts (client/llb/exec.go).
      ["/s", -1, 0, MountType.SECRET],
    ]);
    assert.deepEqual(root.vertex.inputs, [img, other]);
    assert.deepEqual([...mounts.keys()], ["/a", "/z"]);
    assert.equal(mounts.get("/a")!.index, 1);
    assert.equal(mounts.get("/z")!.index, 2);
    assert.equal(mounts.get("/z")!.vertex, root.vertex);
    const m = execOp(root).mounts;
    assert.equal(m[2]!.selector, "/etc");
    assert.equal(m[2]!.readonly, true);
    assert.equal(m[3]!.cacheOpt!.id, "c1");
    const secret = m[6]!.secretOpt!;
    assert.deepEqual(
      [secret.id, secret.uid, secret.gid, secret.mode, secret.optional],
      ["tok", 0, 0, 0o400, false],
    );
    assert.deepEqual(root.vertex.metadata.caps, [
      "exec.meta.base",
      "exec.mount.bind",
      "exec.mount.cache",
      "exec.mount.cache.sharing",
      "exec.mount.secret",
      "exec.mount.selector",
      "exec.mount.tmpfs",
    ]);
  });

  it("sorts dests bytewise, not by UTF-16", () => {
    const { root } = exec({
      ...base,
      mounts: [
        { dest: "/\u{1F600}", kind: "tmpfs" },
        { dest: "/\uFF5E", kind: "tmpfs" },
      ],
    });
    assert.deepEqual(
      execOp(root).mounts.map((m) => m.dest),
      ["/", "/\uFF5E", "/\u{1F600}"],
    );
  });

  it("adds caps for tmpfs size, network and valid exit codes", () => {
    const { root } = exec({
      ...base,
      network: "host",
      validExitCodes: [0, 3],
      mounts: [{ dest: "/t", kind: "tmpfs", size: 1024 }],
    });
    const op = execOp(root);
    assert.equal(op.network, NetMode.HOST);
    assert.deepEqual(op.meta!.validExitCodes, [0, 3]);
    assert.equal(op.mounts[1]!.tmpfsOpt!.size, 1024n);
    for (const cap of ["exec.meta.network", "exec.validexitcode", "exec.mount.tmpfs.size"]) {
      assert.ok(root.vertex.metadata.caps.includes(cap), cap);
    }
    const none = exec({ ...base, network: "none" }).root;
    assert.equal(execOp(none).network, NetMode.NONE);
    const sandbox = exec({ ...base, network: "sandbox" }).root;
    assert.ok(!sandbox.vertex.metadata.caps.includes("exec.meta.network"));
  });

  it("passes args, env, cwd, user through and records name and ignoreCache", () => {
    const { root } = exec({
      ...base,
      args: ["sh", "-c", "x"],
      env: ["B=2", "A=1"],
      cwd: "/w",
      user: "1000:1000",
      customName: "step",
      ignoreCache: true,
    });
    const meta = execOp(root).meta!;
    assert.deepEqual(meta.args, ["sh", "-c", "x"]);
    assert.deepEqual(meta.env, ["B=2", "A=1"]);
    assert.equal(meta.cwd, "/w");
    assert.equal(meta.user, "1000:1000");
    assert.equal(root.vertex.metadata.customName, "step");
    assert.equal(root.vertex.metadata.ignoreCache, true);
  });

  const invalid: Array<[string, Partial<ExecOptions>, RegExp]> = [
    ["empty args", { args: [] }, /arguments are required/],
    ["empty cwd", { cwd: "" }, /working directory is required/],
    ["relative dest", { mounts: [{ dest: "x", kind: "tmpfs" }] }, /must be absolute/],
    ["mount at /", { mounts: [{ dest: "/", kind: "tmpfs" }] }, /root filesystem/],
    [
      "duplicate dest",
      {
        mounts: [
          { dest: "/x", kind: "tmpfs" },
          { dest: "/x", kind: "bind", source: null },
        ],
      },
      /two mounts/,
    ],
    ["bad tmpfs size", { mounts: [{ dest: "/x", kind: "tmpfs", size: -1 }] }, /tmpfs size/],
    ["bad exit code", { validExitCodes: [2 ** 31] }, /int32/],
  ];
  for (const [name, patch, reason] of invalid) {
    it(`rejects ${name} with E_INPUT_INVALID`, () => {
      assert.throws(
        () => exec({ ...base, ...patch }),
        (e: unknown) =>
          e instanceof HlnError && e.code === "E_INPUT_INVALID" && reason.test(e.message),
      );
    });
  }
});

describe("exec secret environment", () => {
  it("sends secret env vars by id only, with the exec.secretenv cap", () => {
    const platform = { os: "linux", architecture: "amd64" };
    const run = exec({
      root: null,
      args: ["sh"],
      env: [],
      cwd: "/",
      platform,
      secretEnv: [{ id: "token", name: "TOKEN" }],
    });
    const op = toOp(run.root.vertex);
    assert.equal(op.op.case, "exec");
    if (op.op.case !== "exec") return;
    assert.deepEqual(
      op.op.value.secretenv.map((e) => [e.id, e.name, e.optional]),
      [["token", "TOKEN", false]],
    );
    assert.ok(run.root.vertex.metadata.caps.includes(Cap.execSecretEnv));
  });
});
