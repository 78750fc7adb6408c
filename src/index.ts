/**
 * hln's package entry (`import ... from "hln"`): what a stack and a program that builds
 * with hln need. A stack's `import ... from "hln"` is bound to exactly this module (see
 * stack/load-stack.ts), so it sits at the stack layer and names nothing from app, ui or cli.
 * Running stacks as the CLI does is in "hln/stack"; raw BuildKit and LLB are in
 * "hln/buildkit" and "hln/llb" (docs/api.md says what each holds).
 */

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
export {
  ExecError,
  HlnError,
  type HlnErrorCode,
  type Remedy,
  type Setting,
} from "./errors.js";
// SDK
export { CacheVolume } from "./sdk/cache-volume.js";
export { Container, type ExecOptions } from "./sdk/container.js";
export { createDag, type Dag, type DagOptions, hostPlatform } from "./sdk/dag.js";
export { type CopyFilter, Directory } from "./sdk/directory.js";
export { File } from "./sdk/file.js";
export { Host } from "./sdk/host.js";
export { Secret } from "./sdk/secret.js";
// Stacks: what a stack module declares
export type {
  App,
  DependsOnCondition,
  HealthcheckSpec,
  JobOptions,
  MountSource,
  PortSpec,
  ServiceOptions,
  ServiceRef,
  UpdateSpec,
  VolumeRef,
} from "./stack/app-spec.js";
export {
  type Action,
  type ActionContext,
  defineStack,
  type InputDeclaration,
  type InputDeclarations,
  type InputType,
  type InputValues,
  type Stack,
  type StackDefinition,
} from "./stack/define-stack.js";
