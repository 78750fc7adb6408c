/**
 * Turns a graph into the `Definition` a solve request carries (wire doc 2.1, 2.2):
 * - `def` lists every op once, inputs before the ops that use them (the Go client's post-order
 *   walk, client/llb/state.go marshal), then the terminal op;
 * - the terminal op is a bare `Op{inputs: [result]}`: no body, platform or constraints; the
 *   daemon takes the build result from it, and it must be last;
 * - `metadata` has an entry per op digest with that op's caps and description; the terminal
 *   op's entry declares `constraints` and `platform`, plus `meta.description` /
 *   `meta.ignorecache` when any op used them (client/llb/state.go State.Marshal).
 */

import { create, fromBinary } from "@bufbuild/protobuf";
import {
  type Definition,
  DefinitionSchema,
  InputSchema,
  type OpMetadata,
  OpMetadataSchema,
  OpSchema,
} from "../gen/buildkit/ops_pb.js";
import { compareBytewise } from "./bytewise.js";
import { Cap } from "./caps.js";
import { marshalOp, sha256Digest, sortOpMetadataMaps } from "./marshal.js";
import {
  marshalVertex,
  type Output,
  postOrder,
  type Vertex,
  vertexDigest,
  vertexOpMetadata,
} from "./vertex.js";

/**
 * The Definition whose result is `result`.
 *
 * @example const def = definition(exec({ ... }).root);
 */
export function definition(result: Output, options: { ignoreCache?: boolean } = {}): Definition {
  const def: Uint8Array[] = [];
  const metadata = new Map<string, OpMetadata>();
  let anyDescription = false;
  let anyIgnoreCache = false;

  for (const v of postOrder(result.vertex)) {
    const { bytes, digest } = marshalVertex(v);
    const md = sortedOpMetadata(v, options.ignoreCache === true);
    anyDescription ||= Object.keys(md.description).length > 0;
    anyIgnoreCache ||= md.ignoreCache;
    const prev = metadata.get(digest);
    if (prev === undefined) {
      def.push(bytes);
      metadata.set(digest, md);
    } else {
      // Two vertices with identical ops are one op to the daemon; merge what they declare,
      // as Go's mergeMetadata does.
      metadata.set(digest, sortOpMetadataMaps(mergeMetadata(prev, md)));
    }
  }

  const terminal = marshalOp(
    create(OpSchema, {
      inputs: [
        create(InputSchema, { digest: vertexDigest(result.vertex), index: BigInt(result.index) }),
      ],
    }),
  );
  def.push(terminal.bytes);
  const terminalCaps: Record<string, boolean> = {
    [Cap.constraints]: true,
    [Cap.platform]: true,
  };
  if (anyDescription) terminalCaps[Cap.metaDescription] = true;
  if (anyIgnoreCache) terminalCaps[Cap.metaIgnoreCache] = true;
  metadata.set(
    terminal.digest,
    sortOpMetadataMaps(create(OpMetadataSchema, { caps: terminalCaps })),
  );

  // Map order is not hashed, but a sorted map keeps Definition bytes reproducible.
  const sorted: Record<string, OpMetadata> = {};
  for (const key of [...metadata.keys()].sort(compareBytewise)) sorted[key] = metadata.get(key)!;
  return create(DefinitionSchema, { def, metadata: sorted });
}

/** Per vertex, its OpMetadata with sorted maps, plain and marked ignore-cache. */
const opMetadata = new WeakMap<Vertex, { plain?: OpMetadata; ignoreCache?: OpMetadata }>();

/**
 * A vertex's OpMetadata entry, maps sorted, made once per vertex: a run that solves many
 * results over one graph asks for the same vertices' entries once per Definition.
 */
function sortedOpMetadata(v: Vertex, ignoreCache: boolean): OpMetadata {
  let known = opMetadata.get(v);
  if (!known) {
    known = {};
    opMetadata.set(v, known);
  }
  const key = ignoreCache ? "ignoreCache" : "plain";
  let md = known[key];
  if (!md) {
    const own = vertexOpMetadata(v);
    // `--no-cache`: every op runs again, as BuildKit does for one marked this way.
    md = sortOpMetadataMaps(ignoreCache ? create(OpMetadataSchema, { ...own, ignoreCache }) : own);
    known[key] = md;
  }
  return md;
}

/**
 * The digest of every op in `def`, in order; the last is the terminal op.
 *
 * @example
 * definitionDigests(definition(imageSource("alpine"))).at(-1); // the terminal op's digest
 */
export function definitionDigests(def: Definition): string[] {
  return def.def.map((bytes) => sha256Digest(bytes));
}

/** The digest and output index of the build result (the terminal op's input). */
export function definitionResult(def: Definition): { digest: string; index: number } | undefined {
  const last = def.def[def.def.length - 1];
  if (last === undefined) return undefined;
  const op = fromBinary(OpSchema, last);
  const input = op.inputs[0];
  return input && { digest: input.digest, index: Number(input.index) };
}

function mergeMetadata(a: OpMetadata, b: OpMetadata): OpMetadata {
  return create(OpMetadataSchema, {
    ignoreCache: a.ignoreCache || b.ignoreCache,
    description: { ...a.description, ...b.description },
    caps: { ...a.caps, ...b.caps },
  });
}
