/**
 * "hln/stack": running stacks as `hln do` does, from a program: find and list stacks,
 * check their inputs, run an action on an engine. What a stack itself imports is in "hln".
 */
export type { AppSpec, DeclaredService } from "./app-spec.js";
export {
  type CatalogueOptions,
  type LocatedStack,
  listStacks,
  locateStack,
  type StackListing,
} from "./catalogue.js";
export {
  type InputOrigin,
  type InputQuestion,
  type InputSources,
  type Prompter,
  type ResolvedInputs,
  resolveInputs,
} from "./inputs.js";
export {
  type PreparedStack,
  type PrepareStackOptions,
  prepareStack,
} from "./prepare-stack.js";
export { type ActionRun, type RunActionOptions, runAction } from "./run-action.js";
export { parseStackRef, type StackRef } from "./stack-ref.js";
export { createTerminalPrompter } from "./terminal-prompt.js";
