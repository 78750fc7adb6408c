/**
 * "hln/llb": pure builders for BuildKit's op graph and its Definitions, for tools that
 * make LLB without the SDK. No I/O. The rest of src/llb (marshaling, vertices, deferred
 * results) is how hln builds on these, and is not part of the package's API.
 */
export { definition, definitionDigests } from "./definition.js";
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
export { formatPlatform, normalizePlatform, type Platform, parsePlatform } from "./platform.js";
export {
  type ImageSourceOptions,
  imageSource,
  type LocalSourceOptions,
  localSource,
  type ResolveMode,
} from "./source.js";
export type { Output, Vertex } from "./vertex.js";
