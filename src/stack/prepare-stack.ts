/**
 * The seam between finding a stack and running it: a stack reference and the user's
 * input sources become a loaded stack with validated inputs, without any engine.
 */
import { type CatalogueOptions, type LocatedStack, locateStack } from "./catalogue.js";
import { type InputSources, type ResolvedInputs, resolveInputs } from "./inputs.js";
import { parseStackRef, type StackRef } from "./stack-ref.js";

export interface PrepareStackOptions
  extends CatalogueOptions,
    Omit<InputSources, "signal" | "env"> {}

export interface PreparedStack extends LocatedStack {
  inputs: ResolvedInputs;
}

/**
 * Finds a stack (bundled, cached from npm, installed from npm once, or a local directory),
 * loads it, and gathers its inputs from defaults, declared variables, values files,
 * `--set` entries and prompts. Everything is checked before it returns; nothing touches
 * an engine, so a bad value costs no build.
 *
 * @example
 * const { stack, inputs } = await prepareStack("hello", {
 *   sets: ["greeting=bonjour"],
 *   valuesFiles: ["values.yaml"],
 * });
 * console.log(stack.version, inputs.values.greeting);
 */
export async function prepareStack(
  ref: StackRef | string,
  options: PrepareStackOptions = {},
): Promise<PreparedStack> {
  const parsed = typeof ref === "string" ? parseStackRef(ref) : ref;
  const located = await locateStack(parsed, options);
  const inputs = await resolveInputs(located.stack, {
    presets: options.presets,
    valuesFiles: options.valuesFiles,
    sets: options.sets,
    env: options.env,
    cwd: options.cwd,
    prompt: options.prompt,
    signal: options.signal,
  });
  return { ...located, inputs };
}
