import type { Dag } from "../sdk/dag.js";
import type { Secret } from "../sdk/secret.js";
import type { App } from "./app-spec.js";

/** What every input may say, whatever its type. */
interface InputCommon {
  /** One line for `hln show` and for prompts. */
  description?: string;
  /**
   * Whether a run needs a value. Default: `true` when there is no `default`. An input that
   * is not required and has none arrives as `undefined`.
   */
  required?: boolean;
  /** An environment variable that fills the input, e.g. `SHOP_DB_PASSWORD`. */
  env?: string;
}

/** Declares one input of a stack. */
export type InputDeclaration =
  | (InputCommon & {
      type: "string";
      default?: string;
      /** Kept for stacks written before `enum`: the values the input accepts. */
      choices?: readonly string[];
    })
  | (InputCommon & { type: "number"; default?: number })
  | (InputCommon & { type: "boolean"; default?: boolean })
  | (InputCommon & { type: "enum"; values: readonly string[]; default?: string })
  | (InputCommon & {
      type: "path";
      /**
       * Relative paths are resolved against the values file that gives them, else the
       * working directory; the action receives an absolute path.
       */
      default?: string;
      /** Default `true`: the path must exist when the run starts. */
      mustExist?: boolean;
    })
  | (InputCommon & {
      /**
       * A value that never enters the graph, a file or a log: it arrives as a `Secret`.
       * Its sources: the `env` variable, `env:VAR`, `file:PATH` or `command:CMD` in a values
       * file or `--set`, or a prompt that does not echo. A secret has no default.
       */
      type: "secret";
      default?: never;
    })
  | (InputCommon & { type: "list"; default?: readonly string[] });

export type InputDeclarations = Record<string, InputDeclaration>;

export type InputType = InputDeclaration["type"];

type Present<D extends InputDeclaration> = D extends { type: "enum"; values: readonly (infer V)[] }
  ? V
  : D extends { type: "string"; choices: readonly (infer C)[] }
    ? C
    : D extends { type: "string" | "path" }
      ? string
      : D extends { type: "number" }
        ? number
        : D extends { type: "boolean" }
          ? boolean
          : D extends { type: "secret" }
            ? Secret
            : string[];

/** An input with no default that is declared `required: false` may be absent. */
type ValueOf<D extends InputDeclaration> = D extends { required: false }
  ? D extends { default: unknown }
    ? Present<D>
    : Present<D> | undefined
  : Present<D>;

/** The values an action receives, typed from the stack's declarations. */
export type InputValues<I extends InputDeclarations> = { [K in keyof I]: ValueOf<I[K]> };

export interface ActionContext<I extends InputDeclarations> {
  /** Builds the graph the action runs. */
  dag: Dag;
  /** Validated inputs, defaults filled in. */
  inputs: InputValues<I>;
  /** Cancelled when the user interrupts the run. */
  signal: AbortSignal;
  /**
   * The absolute path of the directory the stack module lives in, for files the stack
   * ships itself: `dag.host().directory(join(stackDirectory, "web"))`. Relative host paths
   * are relative to the working directory, where the user's own files are.
   */
  stackDirectory: string;
  /**
   * Declares the app `hln up` deploys: `app.service(name, container, options)`,
   * `app.job(...)`, `app.volume(name)`. Declaring only records; hln builds the images and
   * converges the services once the action has returned. `hln do` builds none of them.
   */
  app: App;
}

/**
 * An action returns plain data (printed as YAML or JSON), or nothing. Its parameter is
 * checked as a method's is (both ways), so a `Stack<{ port: ... }>` is also a `Stack`.
 */
export type Action<I extends InputDeclarations> = {
  run(ctx: ActionContext<I>): Promise<unknown> | unknown;
}["run"];

export interface StackDefinition<I extends InputDeclarations> {
  /** Lowercase name, e.g. `hello`. */
  name: string;
  /** Semantic version of the stack. */
  version: string;
  /** One line for `hln list stacks` and `hln show`. */
  description?: string;
  /** Words to find the stack by, e.g. `["web", "postgres"]`. */
  tags?: readonly string[];
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
 *   description: "Says hello",
 *   inputs: {
 *     greeting: { type: "string", default: "hello", description: "what to say" },
 *     size: { type: "enum", values: ["s", "m", "l"], default: "s" },
 *     token: { type: "secret", env: "HELLO_TOKEN", required: false },
 *   },
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
