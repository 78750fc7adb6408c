/**
 * Gathers a stack's inputs from every source and checks them against the declarations,
 * before any engine work. Precedence, lowest first: the declared `default`, the declared
 * `env` variable, each `-f` values file in order, each `--set` in order, then prompts
 * (`-i`) for required inputs still missing.
 */
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { HlnError, shownSetting, throwIfAborted } from "../errors.js";
import type { Secret } from "../sdk/secret.js";
import type { InputDeclaration, Stack } from "./define-stack.js";
import { expandHome } from "./expand-home.js";
import {
  loadSecret,
  parseSecretReference,
  recordedSecretSource,
  type SecretSource,
  secretSourceForms,
  secretSourceKinds,
  secretSourceOf,
} from "./secret-source.js";
import { readValuesFile, type ValuesFile, type YamlEntry, type YamlValue } from "./values-file.js";

export interface InputQuestion {
  name: string;
  declaration: InputDeclaration;
  secret: boolean;
  /** why the previous answer was refused, when re-asking */
  retry?: string;
}

/** Asks for one input and returns the answer as typed. */
export type Prompter = (question: InputQuestion, signal?: AbortSignal) => Promise<string>;

export interface InputSources {
  /**
   * Values read already, applied before the `-f` files: `hln up APP` replays the inputs
   * recorded by the app's last deploy this way, under whatever the user gives now.
   */
  presets?: readonly ValuesFile[];
  /** `-f`, in order; a later file wins over an earlier one. */
  valuesFiles?: readonly string[];
  /** `--set key=value`, in order; the last one for a key wins. */
  sets?: readonly string[];
  /** Where declared `env` variables and `env:VAR` references are read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Relative paths in `--set`, variables, prompts and defaults. Default: `process.cwd()`. */
  cwd?: string;
  /**
   * `-i`: asked for every required input still missing. Without it, a missing required
   * input is an error that says what would fill it.
   */
  prompt?: Prompter;
  signal?: AbortSignal;
}

export type InputOrigin =
  | { from: "default" }
  | { from: "env"; variable: string }
  | { from: "values"; file: string; line: number; column: number }
  | { from: "set" }
  | { from: "prompt" }
  | { from: "absent" };

export interface ResolvedInputs {
  /** What ctx.inputs receives: a Secret for a secret, an absolute path for a path, string[] for a list, undefined for an absent optional input. */
  values: Record<string, unknown>;
  origins: Record<string, InputOrigin>;
  /** The secret inputs, values already loaded (a missing variable, unreadable file or failing command has failed already). */
  secrets: Record<string, Secret>;
  /** JSON-safe record for state and display: non-secret values; each secret as its source ("env:VAR", "file:/abs/path", "command:CMD", "prompt"), never its value. */
  recorded: Record<string, unknown>;
}

/** How many answers a prompt takes for one input before the run stops. */
export const promptTries = 3;

/**
 * An input's type as people read it: `string`, `number`, `boolean`, `enum(s|m|l)`, `path`,
 * `secret`, `list`. A `string` with `choices` reads as the enum it is.
 *
 * @example
 * describeInputType({ type: "enum", values: ["s", "m"] }); // "enum(s|m)"
 */
export function describeInputType(declaration: InputDeclaration): string {
  const allowed = allowedValues(declaration);
  if (allowed) return `enum(${allowed.join("|")})`;
  return declaration.type;
}

/** The name a secret input's `Secret` has in the graph. */
export function inputSecretName(name: string): string {
  return `input.${name}`;
}

function allowedValues(declaration: InputDeclaration): readonly string[] | undefined {
  if (declaration.type === "enum") return declaration.values;
  if (declaration.type === "string") return declaration.choices;
  return undefined;
}

function isRequired(declaration: InputDeclaration): boolean {
  const hasDefault = "default" in declaration && declaration.default !== undefined;
  return declaration.required ?? !hasDefault;
}

/** A value an input refused; the source puts its place in front. */
class Refusal extends Error {
  /** In a values file: what was given (`"eighty"`, `a list`), when the message should say. */
  got: string | undefined;
  /** In a values file: where, when not at the input's value (an item of a list). */
  at: { line: number; column: number } | undefined;
  constructor(
    message: string,
    /** Whether a values-file message may say what was given: not for a secret, nor when the message shows it. */
    readonly showGiven = true,
  ) {
    super(message);
  }
}

/** What one source gave for one input, before it is converted. */
type Given =
  | { from: "default"; value: unknown }
  | { from: "env"; variable: string; text: string }
  | { from: "values"; file: ValuesFile; entry: YamlEntry }
  | { from: "set"; flag: string; text: string }
  | { from: "prompt"; text: string };

interface Converted {
  value: unknown;
  /** For a secret: where its value comes from, to load and to record. */
  source?: SecretSource;
}

interface Context {
  stackName: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  home: string;
  signal: AbortSignal | undefined;
}

/**
 * Resolves and checks a stack's inputs. Every error is one line that names the flag,
 * variable, or `file:line:col` it came from; a secret's value is in none of them.
 *
 * @example
 * const { values, recorded } = await resolveInputs(stack, {
 *   valuesFiles: ["values.yaml"],
 *   sets: ["replicas=3"],
 * });
 * // values.replicas === 3; recorded.dbPassword === "env:SHOP_DB_PASSWORD"
 */
export async function resolveInputs(
  stack: Pick<Stack, "name" | "inputs">,
  sources: InputSources = {},
): Promise<ResolvedInputs> {
  const signal = sources.signal;
  throwIfAborted(signal);
  const declarations = stack.inputs ?? {};
  const env = sources.env ?? process.env;
  const cwd = resolve(sources.cwd ?? process.cwd());
  const ctx: Context = {
    stackName: stack.name,
    cwd,
    env,
    home: env.HOME || homedir(),
    signal,
  };
  const names = Object.keys(declarations);
  const known = names.length > 0 ? names.join(", ") : "none";

  const fromSets = new Map<string, Given>();
  for (const flag of sources.sets ?? []) {
    const eq = flag.indexOf("=");
    if (eq < 0) throw invalid(`--set ${flag}: expected key=value`);
    if (eq === 0) throw invalid(`--set =...: expected key=value, and the key is empty`);
    const key = flag.slice(0, eq);
    if (!Object.hasOwn(declarations, key)) {
      // The value is left out: it may be a secret given to a misspelt name.
      throw invalid(
        `--set ${key}: stack "${stack.name}" has no input named ${key} (inputs: ${known})`,
      );
    }
    fromSets.set(key, { from: "set", flag, text: flag.slice(eq + 1) });
  }

  const fromFiles = new Map<string, Given>();
  const files = [...(sources.presets ?? [])];
  for (const path of sources.valuesFiles ?? [])
    files.push(await readValuesFile(path, { cwd, signal }));
  for (const file of files) {
    for (const entry of file.entries) {
      if (!Object.hasOwn(declarations, entry.key)) {
        throw invalid(
          `${file.shown}:${entry.keyAt.line}:${entry.keyAt.column}: ${entry.key}: stack "${stack.name}" has no input named ${entry.key} (inputs: ${known})`,
        );
      }
      fromFiles.set(entry.key, { from: "values", file, entry });
    }
  }

  const result: ResolvedInputs = { values: {}, origins: {}, secrets: {}, recorded: {} };
  const missing: string[] = [];
  for (const [name, declaration] of Object.entries(declarations)) {
    const variable = declaration.env;
    const given: Given | undefined =
      fromSets.get(name) ??
      fromFiles.get(name) ??
      // An empty variable counts as unset, as `export VAR=` is how a shell user clears one.
      (variable !== undefined && env[variable] !== undefined && env[variable] !== ""
        ? { from: "env", variable, text: env[variable] }
        : undefined) ??
      // A secret has no default; validateStack says so for a loaded stack.
      (declaration.type !== "secret" &&
      "default" in declaration &&
      declaration.default !== undefined
        ? { from: "default", value: declaration.default }
        : undefined);
    if (!given) {
      if (isRequired(declaration)) missing.push(name);
      else {
        result.values[name] = undefined;
        result.origins[name] = { from: "absent" };
      }
      continue;
    }
    let converted: Converted;
    try {
      converted = await convert(declaration, given, ctx);
    } catch (err) {
      throw placed(err, name, declaration, given, ctx);
    }
    await settle(result, name, declaration, given, converted, ctx);
  }

  if (missing.length > 0 && !sources.prompt) {
    const [first, ...rest] = missing as [string, ...string[]];
    const also = rest.length > 0 ? ` (also missing: ${rest.join(", ")})` : "";
    throw invalid(`${missingMessage(first, declarations[first]!, stack.name)}${also}`);
  }
  for (const name of missing) {
    const declaration = declarations[name]!;
    const { given, converted } = await ask(name, declaration, sources.prompt!, ctx);
    await settle(result, name, declaration, given, converted, ctx);
  }

  // Declaration order, whatever order the prompts filled them in.
  return {
    values: ordered(result.values, names),
    origins: ordered(result.origins, names),
    secrets: result.secrets,
    recorded: ordered(result.recorded, names),
  };
}

function ordered<T>(record: Record<string, T>, names: readonly string[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const name of names) if (Object.hasOwn(record, name)) out[name] = record[name] as T;
  return out;
}

function invalid(message: string, cause?: unknown): HlnError {
  return new HlnError("E_INPUT_INVALID", message, cause === undefined ? {} : { cause });
}

/** What would fill a missing input, named so that the user can act on it. */
function missingMessage(name: string, declaration: InputDeclaration, stackName: string): string {
  const fills =
    declaration.type === "secret"
      ? [`pass --set ${name}=env:VAR (or file:PATH, command:CMD)`]
      : [`pass --set ${name}=...`];
  fills.push("put it in a values file (-f)");
  if (declaration.env) fills.push(`set ${declaration.env}`);
  const last = "or use -i";
  return `input ${name} of stack "${stackName}" is required: ${fills.join(", ")}, ${last}`;
}

/** Records a converted value; a secret is loaded here, and only the winning source is. */
async function settle(
  result: ResolvedInputs,
  name: string,
  declaration: InputDeclaration,
  given: Given,
  converted: Converted,
  ctx: Context,
): Promise<void> {
  result.origins[name] = originOf(given);
  if (declaration.type !== "secret") {
    result.values[name] = converted.value;
    result.recorded[name] = Array.isArray(converted.value) ? [...converted.value] : converted.value;
    return;
  }
  const source = converted.source!;
  let secret: Secret;
  try {
    secret = await loadSecret(source, inputSecretName(name), {
      env: ctx.env,
      answer: given.from === "prompt" ? given.text : undefined,
      signal: ctx.signal,
    });
  } catch (err) {
    throw placed(err, name, declaration, given, ctx);
  }
  result.values[name] = secret;
  result.secrets[name] = secret;
  result.recorded[name] = recordedSecretSource(source);
}

function originOf(given: Given): InputOrigin {
  switch (given.from) {
    case "default":
      return { from: "default" };
    case "env":
      return { from: "env", variable: given.variable };
    case "values":
      return {
        from: "values",
        file: given.file.file,
        line: given.entry.value.line,
        column: given.entry.value.column,
      };
    case "set":
      return { from: "set" };
    case "prompt":
      return { from: "prompt" };
  }
}

/**
 * Turns a refusal into the one-line error of its source: `--set port=x: ...`,
 * `values.yaml:4:9: port: ...`, `PORT=x: port: ...`. For a secret the given text is shown
 * only when it is a reference (`env:VAR`), never a literal.
 */
function placed(
  err: unknown,
  name: string,
  declaration: InputDeclaration,
  given: Given,
  ctx: Context,
): unknown {
  if (!(err instanceof Refusal) && !(err instanceof HlnError && err.code === "E_INPUT_INVALID")) {
    return err;
  }
  const secret = declaration.type === "secret";
  const reason = err.message;
  switch (given.from) {
    case "set": {
      const shown = secret && !parseSafely(given.text) ? `--set ${name}` : `--set ${given.flag}`;
      return invalid(`${shown}: ${reason}`, err);
    }
    case "env":
      return invalid(
        `${secret ? given.variable : shownSetting(given.variable, given.text)}: ${name}: ${reason}`,
        err,
      );
    case "values": {
      const where = err instanceof Refusal && err.at ? err.at : given.entry.value;
      const gotten =
        err instanceof Refusal && err.showGiven && !secret && err.got ? `, got ${err.got}` : "";
      return invalid(
        `${given.file.shown}:${where.line}:${where.column}: ${name}: ${reason}${gotten}`,
        err,
      );
    }
    case "default":
      return invalid(
        `input ${name} of stack "${ctx.stackName}" (default ${JSON.stringify(given.value)}): ${reason}`,
        err,
      );
    case "prompt":
      return err;
  }
}

/** Whether a secret's text is a reference (safe to show), not a literal. */
function parseSafely(text: string): boolean {
  try {
    return parseSecretReference(text, "/") !== undefined;
  } catch {
    return true;
  }
}

/** Converts what a source gave into the value the action receives. */
async function convert(
  declaration: InputDeclaration,
  given: Given,
  ctx: Context,
): Promise<Converted> {
  switch (given.from) {
    case "default":
      return fromDefault(declaration, given.value, ctx);
    case "values":
      return fromYaml(declaration, given.entry.value, given.file.directory, ctx);
    case "set":
      return fromText(declaration, given.text, ctx, "set");
    case "env":
      return fromText(declaration, given.text, ctx, "env");
    case "prompt":
      return fromText(declaration, given.text, ctx, "prompt");
  }
}

async function fromDefault(
  declaration: InputDeclaration,
  value: unknown,
  ctx: Context,
): Promise<Converted> {
  if (declaration.type === "path")
    return { value: await existingPath(value as string, ctx.cwd, declaration, ctx) };
  if (declaration.type === "list") return { value: [...(value as readonly string[])] };
  return { value };
}

/**
 * Text from `--set`, a variable or a prompt. It stays a string unless the declaration
 * says otherwise: only a `path` input is resolved, and only it expands `~/`.
 */
async function fromText(
  declaration: InputDeclaration,
  text: string,
  ctx: Context,
  from: "set" | "env" | "prompt",
): Promise<Converted> {
  switch (declaration.type) {
    case "string":
    case "enum":
      return { value: oneOf(declaration, text) };
    case "number":
      return { value: numberFrom(text) };
    case "boolean":
      return { value: booleanFrom(text) };
    case "path":
      return { value: await existingPath(text, ctx.cwd, declaration, ctx) };
    case "list":
      return { value: listFrom(text) };
    case "secret": {
      // A declared variable holds the value itself, and so does a prompt's answer.
      if (from === "env")
        return { value: undefined, source: { kind: "env", variable: declaration.env! } };
      if (from === "prompt") return { value: undefined, source: { kind: "prompt" } };
      const source = parseSecretReference(text, ctx.cwd);
      if (!source) {
        throw new Refusal(
          `a secret is not given as a literal (it would stay in shell history); use ${secretSourceForms}, or -i`,
        );
      }
      return { value: undefined, source };
    }
    default:
      throw unknownType(declaration);
  }
}

function shownYaml(value: YamlValue): string {
  if (value.kind === "list") return "a list";
  if (value.kind === "mapping") return "a mapping";
  if (value.value === null) return "nothing";
  return typeof value.value === "string" ? JSON.stringify(value.value) : value.text;
}

/** A scalar as text: a plain `1.10` or `yes` as written. */
function yamlText(value: YamlValue, expected: string): string {
  if (value.kind !== "scalar" || value.value === null) throw new Refusal(expected);
  return typeof value.value === "string" ? value.value : value.text;
}

/** A YAML value; a refusal says what was given (`got "eighty"`) unless told not to. */
async function fromYaml(
  declaration: InputDeclaration,
  value: YamlValue,
  directory: string,
  ctx: Context,
): Promise<Converted> {
  try {
    return await convertYaml(declaration, value, directory, ctx);
  } catch (err) {
    if (err instanceof Refusal && err.showGiven && err.got === undefined)
      err.got = shownYaml(value);
    throw err;
  }
}

async function convertYaml(
  declaration: InputDeclaration,
  value: YamlValue,
  directory: string,
  ctx: Context,
): Promise<Converted> {
  switch (declaration.type) {
    case "string":
      return { value: oneOf(declaration, yamlText(value, "expected a string")) };
    case "enum":
      return { value: oneOf(declaration, yamlText(value, expectedOneOf(declaration.values))) };
    case "number":
      if (value.kind === "scalar" && typeof value.value === "number") {
        if (!Number.isFinite(value.value)) throw new Refusal("expected a finite number");
        return { value: exact(value.text, value.value) };
      }
      if (value.kind === "scalar" && typeof value.value === "string") {
        return { value: numberFrom(value.value) };
      }
      throw new Refusal("expected a number");
    case "boolean":
      if (value.kind === "scalar" && typeof value.value === "boolean") {
        return { value: value.value };
      }
      throw new Refusal("expected true or false");
    case "path":
      if (value.kind !== "scalar" || typeof value.value !== "string") {
        throw new Refusal("expected a path");
      }
      return { value: await existingPath(value.value, directory, declaration, ctx) };
    case "list":
      if (value.kind !== "list") throw new Refusal("expected a list of strings");
      return {
        value: value.items.map((item, i) => {
          if (item.kind !== "scalar" || item.value === null) {
            const r = new Refusal(`item ${i + 1}: expected a string`);
            r.got = shownYaml(item);
            r.at = { line: item.line, column: item.column };
            throw r;
          }
          return yamlText(item, "expected a string");
        }),
      };
    case "secret":
      return { value: undefined, source: secretFromYaml(value, directory) };
    default:
      throw unknownType(declaration);
  }
}

/** `env:VAR`, `file:PATH`, `command:CMD`, or the mapping `{env: VAR}` and its kin. */
function secretFromYaml(value: YamlValue, directory: string): SecretSource {
  const rewrap = (err: unknown): never => {
    throw err instanceof HlnError ? new Refusal(err.message, false) : err;
  };
  if (value.kind === "scalar" && typeof value.value === "string") {
    let source: SecretSource | undefined;
    try {
      source = parseSecretReference(value.value, directory);
    } catch (err) {
      rewrap(err);
    }
    if (source) return source;
  } else if (value.kind === "mapping") {
    const [entry, ...more] = value.entries;
    if (
      !entry ||
      more.length > 0 ||
      !(secretSourceKinds as readonly string[]).includes(entry.key)
    ) {
      throw new Refusal(
        `expected a mapping with one key, env, file or command (or ${secretSourceForms})`,
        false,
      );
    }
    const inner = entry.value;
    if (inner.kind !== "scalar" || typeof inner.value !== "string") {
      const r = new Refusal(`${entry.key}: expected a string`, false);
      r.at = { line: inner.line, column: inner.column };
      throw r;
    }
    try {
      return secretSourceOf(
        entry.key as (typeof secretSourceKinds)[number],
        inner.value,
        directory,
      );
    } catch (err) {
      return rewrap(err);
    }
  }
  throw new Refusal(
    `a secret is not written in a values file; use ${secretSourceForms}, a mapping such as {env: VAR}, or -i`,
    false,
  );
}

function unknownType(declaration: InputDeclaration): HlnError {
  return new HlnError(
    "E_STACK_INVALID",
    `unknown input type ${JSON.stringify((declaration as { type?: unknown }).type)}`,
  );
}

function expectedOneOf(allowed: readonly string[]): string {
  return `expected one of ${allowed.join(", ")}`;
}

function oneOf(declaration: InputDeclaration, text: string): string {
  const allowed = allowedValues(declaration);
  if (allowed && !allowed.includes(text)) throw new Refusal(expectedOneOf(allowed));
  return text;
}

/** Decimal numbers as people write them; not `0x10`, `Infinity` or an empty string. */
const decimal = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function numberFrom(text: string): number {
  const trimmed = text.trim();
  const n = Number(trimmed);
  if (!decimal.test(trimmed) || !Number.isFinite(n)) throw new Refusal("expected a number");
  return exact(trimmed, n);
}

/**
 * `n`, unless `written` is an integer too large for a number to hold exactly: a port or
 * a count of 99999999999999999999999 would otherwise become 1e+23 without a word.
 */
function exact(written: string, n: number): number {
  if (/^[+-]?\d+$/.test(written.trim()) && !Number.isSafeInteger(n))
    throw new Refusal(`expected an integer of at most ${Number.MAX_SAFE_INTEGER} in size`);
  return n;
}

/**
 * Only `true` and `false`: `yes`, `no`, `on`, `1` and `0` mean true to some tools and a
 * string to others (YAML 1.1 against 1.2), so none of them is guessed at.
 */
function booleanFrom(text: string): boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  throw new Refusal("expected true or false");
}

/** Comma-separated; spaces around items are trimmed; an empty string is the empty list. */
function listFrom(text: string): string[] {
  if (text.trim() === "") return [];
  return text.split(",").map((item) => item.trim());
}

/** `~/` is expanded for path inputs only; the result is absolute. */
async function existingPath(
  text: string,
  directory: string,
  declaration: InputDeclaration & { type: "path" },
  ctx: Context,
): Promise<string> {
  if (text === "") throw new Refusal("expected a path, got an empty string", false);
  const expanded = expandHome(text, ctx.home);
  const abs = resolve(directory, expanded);
  if (declaration.mustExist !== false) {
    try {
      await stat(abs);
    } catch {
      throw new Refusal(`${abs} does not exist`, false);
    }
  }
  return abs;
}

/** Asks until an answer is accepted, at most `promptTries` times. */
async function ask(
  name: string,
  declaration: InputDeclaration,
  prompt: Prompter,
  ctx: Context,
): Promise<{ given: Given; converted: Converted }> {
  const secret = declaration.type === "secret";
  let retry: string | undefined;
  for (let attempt = 1; attempt <= promptTries; attempt++) {
    throwIfAborted(ctx.signal);
    const question: InputQuestion = { name, declaration, secret };
    if (retry !== undefined) question.retry = retry;
    const text = await prompt(question, ctx.signal);
    const given: Given = { from: "prompt", text };
    if (text === "") {
      retry = "an answer is required";
      continue;
    }
    try {
      return { given, converted: await convert(declaration, given, ctx) };
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      retry = err.message;
    }
  }
  throw invalid(
    `input ${name} of stack "${ctx.stackName}": no answer accepted in ${promptTries} tries (${retry})`,
  );
}
