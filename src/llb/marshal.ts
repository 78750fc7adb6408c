/**
 * The one marshaling path for LLB ops. BuildKit identifies every vertex by the sha256 of its
 * op bytes (solver/llbsolver/vertex.go loadLLB hashes `def[i]` as received), and the Go
 * client produces those bytes with protobuf-go `MarshalOptions{Deterministic: true}`
 * (client/llb/marshal.go). To share digests with Go clients we must produce the same bytes.
 *
 * @bufbuild/protobuf already matches Go on everything but map order: fields go out in
 * ascending number (a oneof member at its own number), proto3 zero scalars are skipped,
 * set-but-empty messages are written (`constraints` => `5a 00`), a set oneof member is written
 * even when zero (`UserOpt.byId = 0` => `10 00`), repeated scalars are packed, and negative
 * int32/int64 are 10-byte two's-complement varints. Map entries, though, go out in JS object
 * order, while Go sorts string keys bytewise. So every map is rebuilt sorted before encoding.
 */

import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Op,
  type OpMetadata,
  OpMetadataSchema,
  OpSchema,
  SourceOpSchema,
} from "../gen/buildkit/ops_pb.js";
import { sortRecordBytewise } from "./bytewise.js";
import { useFastUtf8Encoding } from "./text-encoding.js";

// Before any op is encoded: protobuf-es picks its encoder when a writer is made.
useFastUtf8Encoding();

export interface MarshaledOp {
  /** The exact bytes to send in `Definition.def`; never re-encode them. */
  readonly bytes: Uint8Array;
  /** `sha256:<hex>` of `bytes`: the vertex digest BuildKit reports and keys metadata by. */
  readonly digest: string;
}

/** `sha256:<hex>` of the bytes, the go-digest canonical form. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * Encodes an op exactly as Go BuildKit does and returns the bytes with their digest.
 * The input message is not modified.
 *
 * @example
 * const { digest } = marshalOp(create(OpSchema, { inputs: [{ digest: d, index: 0n }] }));
 */
export function marshalOp(op: Op): MarshaledOp {
  const bytes = toBinary(OpSchema, withSortedMaps(op));
  return { bytes, digest: sha256Digest(bytes) };
}

/**
 * OpMetadata is not hashed, but sorting its maps keeps Definition bytes reproducible
 * (golden tests, request logs) and rejects integer-like keys early.
 */
export function sortOpMetadataMaps(md: OpMetadata): OpMetadata {
  return create(OpMetadataSchema, {
    ignoreCache: md.ignoreCache,
    description: sortRecordBytewise(md.description, "OpMetadata.description"),
    exportCache: md.exportCache,
    caps: sortRecordBytewise(md.caps, "OpMetadata.caps"),
    progressGroup: md.progressGroup,
  });
}

// SourceOp.attrs is the only map reachable from an Op in our schema subset (ops.proto).
function withSortedMaps(op: Op): Op {
  if (op.op.case !== "source") return op;
  const source = op.op.value;
  const attrs = sortRecordBytewise(source.attrs, "SourceOp.attrs");
  return create(OpSchema, {
    inputs: op.inputs,
    op: {
      case: "source",
      value: create(SourceOpSchema, { identifier: source.identifier, attrs }),
    },
    platform: op.platform,
    constraints: op.constraints,
  });
}
