/**
 * The LLB layer: pure builders for BuildKit's op graph, deterministic marshaling and
 * Definitions. No I/O. The SDK builds on exactly these names.
 */

export { compareBytewise } from "./bytewise.js";
export { Cap, type CapId } from "./caps.js";
export { type DeferredOutput, deferredOutput, pendingDeferred } from "./deferred.js";
export { definition, definitionDigests, definitionResult } from "./definition.js";
export { type ExecOptions, type ExecResult, exec, type MountSpec } from "./exec.js";
export {
  type FileActionSpec,
  type FileOpOptions,
  type FileOwner,
  fileOp,
  type UserRef,
} from "./file-op.js";
export { fromDefinition } from "./from-definition.js";
export { formatImageRef, type ImageRef, normalizeImageRef, parseImageRef } from "./image-ref.js";
export { type MarshaledOp, marshalOp, sha256Digest } from "./marshal.js";
export {
  formatPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  toPbPlatform,
} from "./platform.js";
export {
  type ImageSourceOptions,
  imageSource,
  type LocalSourceOptions,
  localSource,
  type ResolveMode,
} from "./source.js";
export {
  CUSTOM_NAME_KEY,
  createVertex,
  isMarshaled,
  marshalVertex,
  type OpBody,
  type Output,
  outputOf,
  postOrder,
  toOp,
  type Vertex,
  type VertexInit,
  type VertexMetadata,
  vertexDigest,
  vertexOpMetadata,
} from "./vertex.js";
