import type { Dag } from "../sdk/dag.js";

/** Declares one input of a stack. */
export type InputDeclaration =
  | { type: "string"; default?: string; description?: string; choices?: readonly string[] }
  | { type: "number"; default?: number; description?: string }
  | { type: "boolean"; default?: boolean; description?: string };

export type InputDeclarations = Record<string, InputDeclaration>;

type ValueOf<D extends InputDeclaration> = D extends {
  type: "string";
  choices: readonly (infer C)[];
}
  ? C
  : D extends { type: "string" }
    ? string
    : D extends { type: "number" }
      ? number
      : boolean;

/** The values an action receives, typed from the stack's declarations. */
export type InputValues<I extends InputDeclarations> = { [K in keyof I]: ValueOf<I[K]> };

export interface ActionContext<I extends InputDeclarations> {
  /** Builds the graph the action runs. */
  dag: Dag;
  /** Validated inputs, defaults filled in. */
  inputs: InputValues<I>;
  /** Cancelled when the user interrupts the run. */
  signal: AbortSignal;
}

/** An action returns plain data (printed as YAML or JSON), or nothing. */
export type Action<I extends InputDeclarations> = (
  ctx: ActionContext<I>,
) => Promise<unknown> | unknown;

export interface StackDefinition<I extends InputDeclarations> {
  /** Lowercase name, e.g. `hello`. */
  name: string;
  /** Semantic version of the stack. */
  version: string;
  description?: string;
  inputs?: I;
  actions: Record<string, Action<I>>;
  /**
   * Build cache every run imports (`from`) and exports (`to`), in buildx's syntax:
   * `type=registry,ref=host/app:cache,mode=max`, `type=inline`, `type=local,dest=.cache`.
   * Local directories are relative to the stack file. `--cache-from` and `--cache-to`
   * replace the list of the same direction.
   */
  cache?: { from?: readonly string[]; to?: readonly string[] };
}

const brand = Symbol.for("hln.stack");

export interface Stack<I extends InputDeclarations = InputDeclarations> extends StackDefinition<I> {
  readonly [brand]: true;
}

/**
 * Declares a stack; a stack module's default export.
 *
 * @example
 * export default defineStack({
 *   name: "hello",
 *   version: "0.1.0",
 *   inputs: { greeting: { type: "string", default: "hello" } },
 *   actions: {
 *     async up({ dag, inputs }) {
 *       const out = await dag.container().from("busybox")
 *         .withExec(["echo", inputs.greeting]).stdout();
 *       return { out };
 *     },
 *   },
 * });
 */
export function defineStack<const I extends InputDeclarations = Record<never, never>>(
  definition: StackDefinition<I>,
): Stack<I> {
  return Object.freeze({ ...definition, [brand]: true as const });
}

export function isStack(value: unknown): value is Stack {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}
