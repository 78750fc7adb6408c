/**
 * Inputs of the golden LLB fixtures in ./golden/<name>.json. Each case builds a graph; the
 * fixture records every op's bytes (hex), digest and metadata, or the error the build throws.
 * Regenerate with `npx tsx src/llb/testdata/regenerate.ts` after an intended change, and
 * review the diff: a changed digest means a changed wire format.
 */

import { create } from "@bufbuild/protobuf";
import { SourceOpSchema } from "../../gen/buildkit/ops_pb.js";
import { exec } from "../exec.js";
import { fileOp } from "../file-op.js";
import type { Platform } from "../platform.js";
import { imageSource, localSource } from "../source.js";
import { createVertex, type Output, outputOf } from "../vertex.js";

export interface GoldenCase {
  readonly description: string;
  readonly build: () => Output;
}

const amd64: Platform = { os: "linux", architecture: "amd64" };
const alpine = () => imageSource("alpine", { platform: amd64 });

export const goldenCases: Readonly<Record<string, GoldenCase>> = {
  "image-alpine": {
    description:
      "FROM alpine on linux/amd64: the wire doc's golden vector (op 665ba8b2..., terminal cc5fb596...)",
    build: alpine,
  },
  "image-pull-pinned": {
    description: "tag + digest kept, resolvemode=pull adds the attr and its cap",
    build: () =>
      imageSource(
        "ghcr.io/acme/tool:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        { platform: { os: "linux", architecture: "arm", variant: "v7" }, resolveMode: "pull" },
      ),
  },
  "local-source-sorted-attrs": {
    description: "local source: five attrs inserted out of order come out sorted bytewise",
    build: () =>
      localSource("context", {
        sessionId: "sess-1",
        includePatterns: ["src", "package.json"],
        followPaths: ["Dockerfile"],
        excludePatterns: ["node_modules", "*.log"],
        sharedKeyHint: "context",
      }),
  },
  "map-sort-non-ascii": {
    description:
      "raw source op whose attr keys order differently in UTF-16 and UTF-8 (U+FF5E < U+1F600 bytewise)",
    build: () =>
      outputOf(
        createVertex({
          inputs: [],
          op: {
            case: "source",
            value: create(SourceOpSchema, {
              identifier: "local://x",
              attrs: { "\u{1F600}": "emoji", "\uFF5E": "fullwidth-tilde", z: "", a: "1", é: "e" },
            }),
          },
          caps: [],
        }),
      ),
  },
  "map-integer-key-rejected": {
    description: "an integer-like attr key cannot keep Go's order in a JS object: E_INTERNAL",
    build: () =>
      outputOf(
        createVertex({
          inputs: [],
          op: {
            case: "source",
            value: create(SourceOpSchema, { identifier: "local://x", attrs: { b: "", "10": "" } }),
          },
          caps: [],
        }),
      ),
  },
  "exec-mounts": {
    description:
      "exec with cache mount, readonly bind with selector, sized tmpfs, writable scratch bind, secret, network none",
    build: () => {
      const img = alpine();
      const tools = imageSource("busybox", { platform: amd64 });
      return exec({
        root: img,
        args: ["/bin/sh", "-c", "make"],
        env: ["PATH=/usr/bin:/bin", "HOME=/root"],
        cwd: "/src",
        user: "1000:1000",
        network: "none",
        mounts: [
          { dest: "/tmp", kind: "tmpfs", size: 65536 },
          { dest: "/out", kind: "bind", source: null },
          { dest: "/root/.cache", kind: "cache", id: "gocache", sharing: "private" },
          { dest: "/run/secrets/token", kind: "secret", id: "token", optional: true },
          { dest: "/mnt/tools", kind: "bind", source: tools, selector: "/bin", readonly: true },
          { dest: "/mnt/self", kind: "bind", source: img, readonly: true },
        ],
        platform: amd64,
        customName: "make",
      }).mounts.get("/out")!;
    },
  },
  "exec-valid-exit-codes": {
    description: "validExitCodes is a packed int32 list; -1 is a 10-byte varint; ignoreCache",
    build: () =>
      exec({
        root: alpine(),
        args: ["false"],
        env: [],
        cwd: "/",
        validExitCodes: [0, 1, 255, -1],
        platform: amd64,
        ignoreCache: true,
      }).root,
  },
  "exec-unsized-tmpfs-scratch-root": {
    description: "scratch root (input -1) and an unsized tmpfs (TmpfsOpt still set: 9a 01 00)",
    build: () =>
      exec({
        root: null,
        args: ["/bin/true"],
        env: [],
        cwd: "/",
        mounts: [{ dest: "/tmp", kind: "tmpfs" }],
        platform: amd64,
      }).root,
  },
  "file-mkfile-owner-root": {
    description:
      "mkdir -p then mkfile with mode and owner byId=0 (oneof zero still written: 10 00)",
    build: () =>
      fileOp({
        base: alpine(),
        actions: [
          { kind: "mkdir", path: "/etc/app", mode: 0o755, makeParents: true },
          {
            kind: "mkfile",
            path: "/etc/app/config.json",
            data: new TextEncoder().encode('{"debug":false}\n'),
            mode: 0o640,
            owner: { user: 0, group: 0 },
          },
        ],
        customName: "write config",
      }),
  },
  "file-copy-defaults": {
    description: "copy with unset mode and timestamp (-1), rm after it, patterns cap",
    build: () =>
      fileOp({
        base: null,
        actions: [
          {
            kind: "copy",
            src: alpine(),
            srcPath: "etc/",
            destPath: "/dest/",
            dirCopyContents: true,
            createDestPath: true,
            allowWildcard: true,
            allowEmptyWildcard: true,
            includePatterns: ["*.conf"],
            excludePatterns: ["*.bak"],
            owner: { user: "app" },
          },
          { kind: "rm", path: "/dest/secret.conf", allowNotFound: true },
        ],
      }),
  },
};
