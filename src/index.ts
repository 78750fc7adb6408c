/**
 * hln's public API. Stack authors use `defineStack` and the `dag` their actions receive;
 * tools embed the engine, BuildKit client and LLB layers directly.
 */

// BuildKit client
export {
  type BuildkitConnection,
  type BuildkitConnectionOptions,
  createBuildkitConnection,
  type SessionHeaders,
} from "./buildkit/connection.js";
export { type GatewayBuild, withGateway } from "./buildkit/gateway.js";
export {
  openSession,
  type Session,
  type SessionOptions,
  type SessionService,
} from "./buildkit/session.js";
export {
  type ExporterSpec,
  SolveError,
  type SolveOptions,
  type SolveResult,
  solve,
} from "./buildkit/solve.js";
export type {
  SolveStatus,
  VertexLogChunk,
  VertexProgress,
  VertexUpdate,
} from "./buildkit/solve-status.js";
export { type CacheRecord, diskUsage, type PruneOptions, prune } from "./buildkit/usage.js";
// Engines
export {
  type Engine,
  type EngineInfo,
  engineInfo,
  type OpenEngineOptions,
  openEngine,
} from "./engine/engine.js";
export { type EngineChoice, resolveEngine } from "./engine/resolve.js";
// Errors
export { ExecError, HlnError, type HlnErrorCode } from "./errors.js";
// LLB
export * as llb from "./llb/index.js";
// SDK
export { CacheVolume } from "./sdk/cache-volume.js";
export { Container, type ExecOptions } from "./sdk/container.js";
export { createDag, type Dag, type DagOptions, hostPlatform } from "./sdk/dag.js";
export { type CopyFilter, Directory } from "./sdk/directory.js";
export { File } from "./sdk/file.js";
// Stacks
export {
  type App,
  type AppRecorder,
  type AppSpec,
  createAppRecorder,
  type DeclaredService,
  type DependsOnCondition,
  type HealthcheckSpec,
  type JobOptions,
  type MountSource,
  type PortSpec,
  type ServiceOptions,
  type ServiceRef,
  type VolumeRef,
} from "./stack/app-spec.js";
export {
  type CatalogueOptions,
  type LocatedStack,
  listStacks,
  locateStack,
  type StackListing,
} from "./stack/catalogue.js";
export {
  type Action,
  type ActionContext,
  defineStack,
  type InputDeclaration,
  type InputDeclarations,
  type InputType,
  type InputValues,
  isStack,
  type Stack,
  type StackDefinition,
} from "./stack/define-stack.js";
export {
  describeInputType,
  type InputOrigin,
  type InputQuestion,
  type InputSources,
  type Prompter,
  type ResolvedInputs,
  resolveInputs,
} from "./stack/inputs.js";
export { loadStack } from "./stack/load-stack.js";
export {
  type PreparedStack,
  type PrepareStackOptions,
  prepareStack,
} from "./stack/prepare-stack.js";
export {
  type ActionRun,
  actionOf,
  type RunActionOptions,
  runAction,
} from "./stack/run-action.js";
export { parseStackRef, type StackRef } from "./stack/stack-ref.js";
export { createTerminalPrompter } from "./stack/terminal-prompt.js";
export { validateStack } from "./stack/validate-stack.js";
// Progress
export { createProgress } from "./ui/create-progress.js";
export type { ProgressRenderer } from "./ui/renderer.js";
