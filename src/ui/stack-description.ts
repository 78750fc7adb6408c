/**
 * What `hln show` prints about a stack: a plain description (its JSON output) made from a
 * loaded stack, and the text made from that. Pure: data in, text out.
 */
import type { InputDeclaration, InputType, Stack } from "../stack/define-stack.js";
import { describeInputType } from "../stack/inputs.js";
import { shellWord } from "./shell-word.js";
import { formatTable, oneLine, wrap } from "./text-table.js";

/** One input, as `hln show --output json` gives it. Absent fields are `null`. */
export interface InputDescription {
  name: string;
  type: InputType;
  /** The values an `enum` (or a `string` with `choices`) accepts. */
  values: string[] | null;
  /** Never set for a `secret`. */
  default: string | number | boolean | string[] | null;
  required: boolean;
  env: string | null;
  description: string | null;
}

/** A stack, as `hln show --output json` gives it. Absent fields are `null`. */
export interface StackDescription {
  name: string;
  version: string;
  /** Where it was found: bundled with hln, cached from npm, or a local directory. */
  source: "bundled" | "npm" | "local";
  /** What to give `-s` (or `--dir`) to name it again. */
  reference: string;
  /** The stack module, absolute. */
  file: string;
  package: { name: string; version: string } | null;
  description: string | null;
  tags: string[];
  inputs: InputDescription[];
  actions: string[];
}

/** What describeStack needs of a located stack (catalogue.ts's LocatedStack). */
export interface DescribedStack {
  stack: Stack;
  file: string;
  source: "bundled" | "npm" | "local";
  reference: string;
  package?: { name: string; version: string };
}

export function describeStack(located: DescribedStack): StackDescription {
  const { stack } = located;
  return {
    name: stack.name,
    version: stack.version,
    source: located.source,
    reference: located.reference,
    file: located.file,
    package: located.package ? { ...located.package } : null,
    description: stack.description ?? null,
    tags: [...(stack.tags ?? [])],
    inputs: Object.entries(stack.inputs ?? {}).map(([name, d]) => describeInput(name, d)),
    actions: Object.keys(stack.actions),
  };
}

function describeInput(name: string, d: InputDeclaration): InputDescription {
  const values =
    d.type === "enum" ? [...d.values] : d.type === "string" && d.choices ? [...d.choices] : null;
  // A secret has no default by its type; one given anyway is never shown.
  const given = d.type === "secret" ? undefined : (d.default as InputDescription["default"]);
  const fallback = given === undefined ? null : Array.isArray(given) ? [...given] : given;
  return {
    name,
    type: d.type,
    values,
    default: fallback,
    required: d.required ?? fallback === null,
    env: d.env ?? null,
    description: d.description ?? null,
  };
}

/**
 * An input's type for people, as every message names it (inputs.ts): `string`,
 * `enum(s|m|l)`, `list`. A `string` with `choices` reads as the enum it is.
 *
 * @example
 * inputTypeText({ type: "enum", values: ["s", "m"] }) // "enum(s|m)"
 */
export function inputTypeText(input: Pick<InputDescription, "type" | "values">): string {
  // The description keeps what describeInputType reads: the type and the allowed values.
  const declaration = input.values
    ? { type: "enum" as const, values: input.values }
    : ({ type: input.type } as InputDeclaration);
  return describeInputType(declaration);
}

/** A default as a person would type it on `--set`; `-` for none. */
function defaultText(v: InputDescription["default"]): string {
  if (v === null) return "-";
  if (Array.isArray(v)) return v.length === 0 ? "[]" : v.join(",");
  if (typeof v === "string") return v === "" || /\s/.test(v) ? JSON.stringify(v) : v;
  return String(v);
}

/** How `hln do` is told to use this stack again. */
function runFlag(d: StackDescription): string {
  return d.source === "local" ? `--dir ${shellWord(d.reference)}` : `-s ${d.reference}`;
}

/** The text `hln show` prints, fitted to `width` columns. */
export function formatStackDescription(d: StackDescription, width: number): string {
  const where = d.package
    ? `${d.source}, ${d.package.name}@${d.package.version}: ${d.file}`
    : `${d.source}: ${d.file}`;
  const header: [string, string][] = [
    ["name", d.name],
    ["version", d.version],
    ["source", where],
    ["description", d.description ?? "-"],
    ["tags", d.tags.length > 0 ? d.tags.join(", ") : "-"],
    ["actions", d.actions.length > 0 ? d.actions.join(", ") : "-"],
  ];
  const key = Math.max(...header.map(([k]) => k.length)) + 2;
  const lines: string[] = [];
  for (const [k, v] of header) {
    // A path is cut rather than wrapped: it is one word, and copied whole from --output json.
    const parts = k === "source" ? [oneLine(v)] : wrap(v, Math.max(20, width - key));
    lines.push(`${k.padEnd(key)}${parts[0]}`, ...parts.slice(1).map((p) => " ".repeat(key) + p));
  }
  let text = `${lines.join("\n")}\n\n`;
  if (d.inputs.length === 0) text += `${"inputs".padEnd(key)}none\n`;
  else
    text += formatTable(
      [
        { header: "INPUT", max: 24 },
        { header: "TYPE", max: 24 },
        { header: "DEFAULT", max: 20 },
        { header: "REQUIRED" },
        { header: "ENV", max: 24 },
        { header: "DESCRIPTION" },
      ],
      d.inputs.map((i) => [
        i.name,
        inputTypeText(i),
        defaultText(i.default),
        i.required ? "yes" : "no",
        i.env ?? "-",
        i.description ?? "",
      ]),
      { width },
    );
  const action = d.actions.includes("up") ? "up" : (d.actions[0] ?? "ACTION");
  const placeholder = (type: string) => (type === "secret" ? "..." : type.toUpperCase());
  // A required input is shown filled the way its stack suggests: its variable when it
  // declares one (a secret's value then never enters the command line), else --set.
  const variables = d.inputs
    .filter((i) => i.required && i.env !== null)
    .map((i) => `${i.env}=${placeholder(i.type)} `)
    .join("");
  const needed = d.inputs
    .filter((i) => i.required && i.env === null)
    .map((i) => ` --set ${i.name}=${i.type === "secret" ? "env:VAR" : placeholder(i.type)}`)
    .join("");
  return `${text}\nrun it: ${variables}hln do ${action} ${runFlag(d)}${needed}\n`;
}
