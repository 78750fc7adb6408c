/**
 * The lazy LLB graph. A Vertex is one op plus the outputs of other vertices it reads; nothing
 * is marshaled until a digest or a Definition is asked for, then each vertex is marshaled once
 * and the result memoized (the Go client's MarshalCache plays the same role,
 * client/llb/marshal.go). Vertices are immutable values: build new ones, never edit.
 */

import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import {
  InputSchema,
  type Op,
  type OpMetadata,
  OpMetadataSchema,
  OpSchema,
  WorkerConstraintsSchema,
} from "../gen/buildkit/ops_pb.js";
import { compareBytewise } from "./bytewise.js";
import { type MarshaledOp, marshalOp } from "./marshal.js";
import { type Platform, toPbPlatform } from "./platform.js";

/** One output of a vertex: what another op mounts, copies from or builds on. */
export interface Output {
  readonly vertex: Vertex;
  /** Output index within the op (an exec has one per writable mount; other ops have 0). */
  readonly index: number;
}

/** The op's oneof body (exec, source, file, merge, diff) as generated from ops.proto. */
export type OpBody = Exclude<Op["op"], { case: undefined }>;

/** Per-vertex metadata, sent beside the op in `Definition.metadata` (not hashed). */
export interface VertexMetadata {
  /** Progress display name; sent as description `llb.customname`. */
  readonly customName?: string;
  /** Free-form description entries, e.g. `com.docker.dockerfile.v1.command`. */
  readonly description: Readonly<Record<string, string>>;
  /** LLB caps this op needs (see caps.ts), sorted, unique. */
  readonly caps: readonly string[];
  /** Ask the solver not to reuse a cached result for this op. */
  readonly ignoreCache?: boolean;
}

export interface Vertex {
  /**
   * The outputs this op reads, in `Op.inputs` order. Index fields inside `op` (mount input,
   * file action input...) point into this list.
   */
  readonly inputs: readonly Output[];
  readonly op: OpBody;
  /** Set on execs and image sources; file ops and local sources are platform-neutral. */
  readonly platform?: Platform;
  readonly metadata: VertexMetadata;
}

export interface VertexInit {
  readonly inputs: readonly Output[];
  /**
   * The op, or a function that makes it when the vertex is first marshaled: for ops
   * whose fields depend on something learned from the engine before the graph is sent
   * (an image's config). It runs once; everything about the vertex is fixed from then.
   */
  readonly op: OpBody | (() => OpBody);
  readonly platform?: Platform | undefined;
  readonly customName?: string | undefined;
  readonly description?: Readonly<Record<string, string>>;
  readonly caps: Iterable<string>;
  readonly ignoreCache?: boolean | undefined;
}

/** LLB description key for the progress display name (client/llb/meta.go WithCustomName). */
export const CUSTOM_NAME_KEY = "llb.customname";

/** Builds an immutable vertex; caps are de-duplicated and sorted. */
export function createVertex(init: VertexInit): Vertex {
  for (const input of init.inputs) {
    if (!Number.isSafeInteger(input.index) || input.index < 0) {
      // The daemon rejects negative Input.index (solver/llbsolver/vertex.go).
      throw new HlnError("E_INTERNAL", `invalid output index ${input.index}`);
    }
  }
  const metadata: VertexMetadata = Object.freeze({
    ...(init.customName === undefined ? {} : { customName: init.customName }),
    description: Object.freeze({ ...init.description }),
    caps: Object.freeze([...new Set(init.caps)].sort(compareBytewise)),
    ...(init.ignoreCache ? { ignoreCache: true } : {}),
  });
  const base = {
    inputs: Object.freeze([...init.inputs]),
    ...(init.platform === undefined ? {} : { platform: Object.freeze({ ...init.platform }) }),
    metadata,
  };
  const make = init.op;
  if (typeof make !== "function") return Object.freeze({ ...base, op: make });
  let op: OpBody | undefined;
  return Object.freeze(
    Object.defineProperty(base, "op", {
      get: () => {
        op ??= make();
        return op;
      },
      enumerable: true,
    }) as Vertex,
  );
}

/** Shorthand for an Output value. */
export function outputOf(vertex: Vertex, index = 0): Output {
  return Object.freeze({ vertex, index });
}

const marshaled = new WeakMap<Vertex, MarshaledOp>();

/** The vertex's op bytes and digest, computed once per vertex. */
export function marshalVertex(v: Vertex): MarshaledOp {
  const cached = marshaled.get(v);
  if (cached) return cached;
  // Marshal uncached inputs first, without recursion, so long chains cannot overflow the stack.
  for (const u of postOrder(v, (x) => !marshaled.has(x))) {
    marshaled.set(u, marshalOp(toOp(u)));
  }
  return marshaled.get(v)!;
}

/**
 * Pins a vertex to op bytes made elsewhere (an engine's or frontend's Definition). Such
 * bytes are used as they are: re-encoding could reorder fields we do not model and change
 * the digest the engine knows them by.
 */
export function pinMarshaled(v: Vertex, m: MarshaledOp): Vertex {
  marshaled.set(v, m);
  return v;
}

/** True once the vertex's op bytes are fixed (marshaled or pinned). */
export function isMarshaled(v: Vertex): boolean {
  return marshaled.has(v);
}

/** `sha256:<hex>` of the vertex's marshaled op. */
export function vertexDigest(v: Vertex): string {
  return marshalVertex(v).digest;
}

/**
 * The protobuf Op for a vertex. Every non-terminal op carries an empty WorkerConstraints, as
 * the Go client always sets one (client/llb/marshal.go MarshalConstraints): `5a 00`.
 */
export function toOp(v: Vertex): Op {
  return create(OpSchema, {
    inputs: v.inputs.map((o) =>
      create(InputSchema, { digest: vertexDigest(o.vertex), index: BigInt(o.index) }),
    ),
    op: v.op,
    ...(v.platform === undefined ? {} : { platform: toPbPlatform(v.platform) }),
    constraints: create(WorkerConstraintsSchema, {}),
  });
}

/** The OpMetadata entry for a vertex (maps are sorted when the Definition is built). */
export function vertexOpMetadata(v: Vertex): OpMetadata {
  const description: Record<string, string> = { ...v.metadata.description };
  if (v.metadata.customName !== undefined) description[CUSTOM_NAME_KEY] = v.metadata.customName;
  const caps: Record<string, boolean> = {};
  for (const cap of v.metadata.caps) caps[cap] = true;
  return create(OpMetadataSchema, {
    ignoreCache: v.metadata.ignoreCache === true,
    description,
    caps,
  });
}

/**
 * Vertices reachable from `root`, inputs before the vertices that use them (the Go client's
 * marshal order, client/llb/state.go), each once by identity. `enter` can prune subgraphs.
 */
export function postOrder(root: Vertex, enter: (v: Vertex) => boolean = () => true): Vertex[] {
  const out: Vertex[] = [];
  const seen = new Set<Vertex>();
  const stack: Array<{ v: Vertex; next: number }> = [];
  const push = (v: Vertex) => {
    if (seen.has(v) || !enter(v)) return;
    seen.add(v);
    stack.push({ v, next: 0 });
  };
  push(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const input = top.v.inputs[top.next];
    if (input === undefined) {
      stack.pop();
      out.push(top.v);
    } else {
      top.next++;
      push(input.vertex);
    }
  }
  return out;
}
