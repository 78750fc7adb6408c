/**
 * Digests reported by a real Go BuildKit (Docker 26, Dockerfile frontend), recorded in
 * testdata/engine-crosscheck.json with how they were produced. Each op is rebuilt here with
 * hln's builders; equal digests mean byte-identical marshaling, including map order, -1
 * varints, empty messages, oneof zeros, mount sorting, input de-duplication and file actions.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type ExecOp, ExecOpSchema, MountSchema, MountType } from "../gen/buildkit/ops_pb.js";
import { definition, definitionDigests } from "./definition.js";
import { exec } from "./exec.js";
import { fileOp } from "./file-op.js";
import { imageSource } from "./source.js";
import { createVertex, type Output, outputOf, vertexDigest } from "./vertex.js";

interface Recorded {
  builds: Array<{
    dockerfile: string;
    vertices: Array<{ name: string; digest: string }>;
    terminal: string;
  }>;
}
const recorded: Recorded = JSON.parse(
  readFileSync(new URL("./testdata/engine-crosscheck.json", import.meta.url), "utf8"),
);
const digestOf = (build: number, name: string): string => {
  const v = recorded.builds[build]!.vertices.find((x) => x.name.startsWith(name));
  assert.ok(v, `fixture has no vertex named ${name}`);
  return v.digest;
};

const platform = { os: "linux", architecture: "amd64" };
// The docker driver asks for image-resolve-mode=local and the frontend pins by digest.
const busybox = () =>
  imageSource(
    "busybox:latest@sha256:d95bf89689fb06514b0700345fe9aeb9cce46afadc5de2ad1a72819f0577b41c",
    { platform, resolveMode: "local" },
  );
const debian = () =>
  imageSource(
    "debian:bookworm-slim@sha256:8461c5d90cfd6eb0e06508c8ab9ab21e57303cda9fcead08cd0cdafdc73c22a6",
    { platform, resolveMode: "local" },
  );

/**
 * BuildKit v0.13 (in Docker 26) left Mount.input unset on secret mounts; Go clients since v0.16
 * write -1, as hln does. Rewrites an exec vertex to the v0.13 form to compare with the engine.
 */
function asV013Secrets(o: Output): Output {
  const v = o.vertex;
  const body = v.op.value as ExecOp;
  const mounts = body.mounts.map((m) =>
    m.mountType === MountType.SECRET ? create(MountSchema, { ...m, input: 0n }) : m,
  );
  const op = create(ExecOpSchema, { ...body, mounts });
  const patched = createVertex({
    inputs: v.inputs,
    op: { case: "exec", value: op },
    platform: v.platform,
    caps: v.metadata.caps,
  });
  return outputOf(patched, o.index);
}

describe("cross-check with a Docker 26 engine", () => {
  it("FROM busybox: the plain tagged image op", () => {
    const plain = imageSource("busybox", { platform });
    assert.equal(vertexDigest(plain.vertex), digestOf(0, "docker-image://"));
  });

  it("FROM busybox: the pinned FROM op and terminal op", () => {
    const def = definition(busybox());
    assert.deepEqual(definitionDigests(def), [
      digestOf(0, "[1/1] FROM"),
      recorded.builds[0]!.terminal,
    ]);
  });

  it("RUN: a simple exec op", () => {
    // The frontend sets PATH from the image config (busybox: /bin), cwd / and sh -c.
    const run = exec({
      root: busybox(),
      args: ["/bin/sh", "-c", "echo hln-crosscheck > /out.txt"],
      env: ["PATH=/bin"],
      cwd: "/",
      platform,
    });
    assert.equal(vertexDigest(run.root.vertex), digestOf(1, "[2/2] RUN"));
    assert.equal(definitionDigests(definition(run.root)).at(-1), recorded.builds[1]!.terminal);
  });

  it("RUN with cache, tmpfs, bind and secret mounts, network none; then COPY --from", () => {
    const deb = debian();
    const run = exec({
      root: busybox(),
      args: ["/bin/sh", "-c", "echo hln-crosscheck-2 > /out.txt"],
      env: ["PATH=/bin"],
      cwd: "/",
      platform,
      network: "none",
      mounts: [
        // The frontend prefixes cache ids with its namespace ("/" by default).
        { dest: "/cache", kind: "cache", id: "/hlncache", sharing: "locked" },
        { dest: "/tmp", kind: "tmpfs", size: 1048576 },
        { dest: "/mnt/etc", kind: "bind", source: deb, selector: "/etc", readonly: true },
        { dest: "/run/s1", kind: "secret", id: "s1", optional: true },
      ],
    });
    assert.equal(vertexDigest(deb.vertex), digestOf(2, "FROM docker.io/library/debian"));
    const engineRun = asV013Secrets(run.root);
    assert.equal(vertexDigest(engineRun.vertex), digestOf(2, "[stage-0 2/3] RUN"));
    // Current Go clients (and hln) differ from v0.13 only in that secret input.
    assert.notEqual(vertexDigest(run.root.vertex), vertexDigest(engineRun.vertex));

    const copy = fileOp({
      base: engineRun,
      actions: [
        {
          kind: "copy",
          src: deb,
          srcPath: "/etc/hostname",
          destPath: "/copied/",
          mode: 0o644,
          owner: { user: 0, group: 0 },
          followSymlink: true,
          dirCopyContents: true,
          createDestPath: true,
          allowWildcard: true,
          allowEmptyWildcard: true,
        },
      ],
    });
    assert.equal(vertexDigest(copy.vertex), digestOf(2, "[stage-0 3/3] COPY"));
    assert.equal(definitionDigests(definition(copy)).at(-1), recorded.builds[2]!.terminal);
  });
});
