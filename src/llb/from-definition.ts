/**
 * Embeds a Definition made elsewhere (for example the result of the Dockerfile frontend)
 * into hln's graph: every op keeps its exact bytes and digest, so BuildKit sees the same
 * vertices it built and answers them from its cache.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { type Definition, type OpMetadata, OpSchema } from "../gen/buildkit/ops_pb.js";
import { sha256Digest } from "./marshal.js";
import {
  CUSTOM_NAME_KEY,
  createVertex,
  type Output,
  outputOf,
  pinMarshaled,
  type Vertex,
} from "./vertex.js";

/**
 * The result of a Definition made elsewhere (a frontend, another tool), to build on; its
 * ops keep their exact bytes and digests.
 *
 * @example
 * const built = fromDefinition(result.definition); // e.g. what a frontend returned
 * const next = exec({ root: built, args: ["ls", "/"], cwd: "/" }).root;
 */
export function fromDefinition(def: Definition): Output {
  if (def.def.length < 2) throw new HlnError("E_ENGINE_PROTOCOL", "definition has no result");
  const bytesByDigest = new Map<string, Uint8Array>();
  for (const bytes of def.def) bytesByDigest.set(sha256Digest(bytes), bytes);
  const terminalBytes = def.def[def.def.length - 1]!;
  const terminal = fromBinary(OpSchema, terminalBytes);
  const result = terminal.inputs[0];
  if (!result || terminal.op.case !== undefined) {
    throw new HlnError("E_ENGINE_PROTOCOL", "definition does not end with a terminal op");
  }

  const built = new Map<string, Vertex>();
  const build = (digest: string): Vertex => {
    const done = built.get(digest);
    if (done) return done;
    const bytes = bytesByDigest.get(digest);
    if (!bytes) throw new HlnError("E_ENGINE_PROTOCOL", `definition lacks op ${digest}`);
    const op = fromBinary(OpSchema, bytes);
    if (op.op.case === undefined)
      throw new HlnError("E_ENGINE_PROTOCOL", `op ${digest} has no body`);
    const md: OpMetadata | undefined = def.metadata[digest];
    const description = { ...(md?.description ?? {}) };
    const customName = description[CUSTOM_NAME_KEY];
    delete description[CUSTOM_NAME_KEY];
    const v = createVertex({
      inputs: op.inputs.map((i) => outputOf(build(i.digest), Number(i.index))),
      op: op.op,
      customName,
      description,
      caps: Object.entries(md?.caps ?? {})
        .filter(([, on]) => on)
        .map(([cap]) => cap),
      ignoreCache: md?.ignoreCache,
    });
    pinMarshaled(v, { bytes, digest });
    built.set(digest, v);
    return v;
  };
  return outputOf(build(result.digest), Number(result.index));
}
