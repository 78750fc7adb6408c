/**
 * Graph building with no engine: the SDK's objects on a stand-in for the solver that
 * answers only what building a graph asks (image configs, given here; secrets and execs
 * recorded), and fails naming anything else. The Definition a chain compiles to is then
 * rendered as readable JSON: each op decoded, its digest, and its metadata.
 */
import { createHash } from "node:crypto";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { OpMetadataSchema, OpSchema } from "../../../src/gen/buildkit/ops_pb.js";
import {
  definition,
  definitionDigests,
  type Output,
  type Platform,
} from "../../../src/llb/index.js";
import { CacheVolume } from "../../../src/sdk/cache-volume.js";
import { type Container, emptyContainer } from "../../../src/sdk/container.js";
import { Directory } from "../../../src/sdk/directory.js";
import { ImageBase, type ImageConfig } from "../../../src/sdk/image-base.js";
import { type Secret, secretFromFile, secretFromValue } from "../../../src/sdk/secret.js";
import type { Solver } from "../../../src/sdk/solver.js";

/** Fixed, not the host's: the goldens are the same on every machine. */
export const platform: Platform = { os: "linux", architecture: "amd64" };

/** What the engine would say of each image the cases start from. */
const imageConfigs: Record<string, ImageConfig> = {
  "docker.io/library/debian:bookworm-slim": {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  },
  "docker.io/library/node:22-slim": {
    Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_VERSION=22.11.0", "YARN_VERSION=1.22.22"],
    WorkingDir: "/home/node",
    User: "node",
  },
  "docker.io/library/busybox:latest": { Env: ["PATH=/bin"] },
};

export interface GraphKit {
  container(): Container;
  directory(): Directory;
  cacheVolume(name: string): CacheVolume;
  setSecret(name: string, value: string): Secret;
  secretFromFile(path: string, name: string): Secret;
}

/** The SDK on a solver stand-in: pure graph building, nothing sent anywhere. */
export function graphKit(): GraphKit {
  const images = new Map<string, ImageBase>();
  const standIn = {
    platform,
    env: {},
    imageBase(ref: string, p: Platform): ImageBase {
      let image = images.get(ref);
      if (!image) {
        const config = imageConfigs[ref];
        if (!config) throw new Error(`no image config for ${ref} in graph-kit.ts`);
        image = new ImageBase(ref, p);
        image.resolve(new TextEncoder().encode(JSON.stringify({ config })));
        images.set(ref, image);
      }
      return image;
    },
    registerExec() {},
    needsImage() {},
    addSecret: (secret: Secret) => secret,
  };
  const solver = new Proxy(standIn, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      throw new Error(`graph building asked the solver for ${String(key)}`);
    },
  }) as unknown as Solver;
  return {
    container: () => emptyContainer(solver, platform),
    directory: () => new Directory(solver, null),
    cacheVolume: (name) => new CacheVolume(name),
    // As dag.setSecret without a fingerprint key: the ID is the name.
    setSecret: (name, value) => secretFromValue(name, value),
    secretFromFile: (path, name) => secretFromFile(path, name),
  };
}

/** Bytes longer than this show as their size and sha256 (the exec shim's binary). */
const shownBytes = 256;

/** Rewrites base64 `data` fields: text when short and printable, else size and sha256. */
function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "data" && typeof v === "string") {
      const bytes = Buffer.from(v, "base64");
      const text = bytes.toString("utf8");
      out[k] =
        bytes.length <= shownBytes && /^[\t\n\r\x20-\x7e]*$/.test(text)
          ? { text }
          : { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
    } else out[k] = readable(v);
  }
  return out;
}

export interface GraphGolden {
  /** The result's op digest, the Definition's last. */
  terminal: string;
  /** Where in the result a File or Directory sits, when not "/". */
  path?: string;
  ops: { digest: string; op: unknown; metadata?: unknown }[];
}

/** The Definition of `output`, as readable JSON. */
export function renderGraph(output: Output, path?: string): { golden: GraphGolden; wire: Buffer } {
  const def = definition(output);
  const digests = definitionDigests(def);
  const ops = def.def.map((bytes, i) => {
    const digest = digests[i]!;
    const md = def.metadata[digest];
    return {
      digest,
      op: readable(toJson(OpSchema, fromBinary(OpSchema, bytes))),
      ...(md ? { metadata: toJson(OpMetadataSchema, md) } : {}),
    };
  });
  const golden: GraphGolden = {
    terminal: digests.at(-1)!,
    ...(path && path !== "/" ? { path } : {}),
    ops,
  };
  return { golden, wire: Buffer.concat(def.def) };
}
