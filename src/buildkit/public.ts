/**
 * "hln/buildkit": hln's BuildKit client on its own, for tools that send their own LLB:
 * the connection, sessions, solves and their status, the build cache, gateway builds.
 * Stacks and most programs want the SDK in "hln" instead.
 */
export {
  type BuildkitConnection,
  type BuildkitConnectionOptions,
  createBuildkitConnection,
  type SessionHeaders,
} from "./connection.js";
export { type GatewayBuild, withGateway } from "./gateway.js";
export {
  openSession,
  type Session,
  type SessionOptions,
  type SessionService,
} from "./session.js";
export {
  type ExporterSpec,
  SolveError,
  type SolveOptions,
  type SolveResult,
  solve,
} from "./solve.js";
export type {
  SolveStatus,
  VertexLogChunk,
  VertexProgress,
  VertexUpdate,
} from "./solve-status.js";
export { type CacheRecord, diskUsage, type PruneOptions, prune } from "./usage.js";
