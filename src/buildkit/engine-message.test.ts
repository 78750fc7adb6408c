import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cleanEngineMessage } from "./engine-message.js";

describe("cleanEngineMessage", () => {
  it("keeps the path inside the engine's mount, and drops internal refs", () => {
    assert.equal(
      cleanEngineMessage(
        "failed to compute cache key: failed to calculate checksum of ref 667c712duhz4zlyd4jr5w877c::tct7v082z4g3kiz3a1ttmrfjk: failed to walk /var/lib/docker/tmp/buildkit-mount2606885912/nope: lstat /var/lib/docker/tmp/buildkit-mount2606885912/nope: no such file or directory",
      ),
      "failed to walk /nope: lstat /nope: no such file or directory",
    );
    assert.equal(
      cleanEngineMessage(
        'failed to compute cache key: failed to calculate checksum of ref 667c::tct: "/nope": not found',
      ),
      '"/nope": not found',
    );
    assert.equal(
      cleanEngineMessage(
        "open /opt/e/state/data/buildkit/containerd-overlayfs/cachemounts/buildkit806680885/etc: is a directory",
      ),
      "open /etc: is a directory",
    );
    assert.equal(
      cleanEngineMessage("read /var/lib/docker/tmp/buildkit-mount3855789029: is a directory"),
      "read /: is a directory",
    );
    assert.equal(
      cleanEngineMessage(
        "mkdir /var/lib/buildkit/runc-overlayfs/snapshots/snapshots/42/fs/x: permission denied",
      ),
      "mkdir /x: permission denied",
    );
    assert.equal(
      cleanEngineMessage(
        "working dir /ddd points to invalid target: lstat /opt/hln-engine/state/data/buildkit/executor/j3ns8f3wnf4x1gu2c3b2pcjvb/rootfs/ddd: file name too long",
      ),
      "working dir /ddd points to invalid target: lstat /ddd: file name too long",
    );
  });

  it("drops gRPC's status wrapping, however deep", () => {
    assert.equal(
      cleanEngineMessage(
        "rpc error: code = Unknown desc = rpc error: code = Internal desc = failed to solve: frontend dockerfile.v0 not found",
      ),
      "failed to solve: frontend dockerfile.v0 not found",
    );
  });

  it("leaves what hln reads and the user wrote alone", () => {
    const exec =
      'process "sh -c cat /buildkit-mount1/x" did not complete successfully: exit code: 1';
    assert.equal(cleanEngineMessage(exec), exec);
    const secret = 'secret "x": secretFromFile("/x"): no such file';
    assert.equal(cleanEngineMessage(secret), secret);
  });
});
