/**
 * Reads a values file (`-f values.yaml`): a YAML mapping of input names to values. The
 * file becomes plain data that keeps the line and column of every value, so that an input
 * that refuses a value can name the place in the file (`values.yaml:4:9: port: ...`).
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  Scalar,
} from "yaml";
import { HlnError, throwIfAborted } from "../errors.js";
import { fileReason } from "../file-reason.js";
import { shownPath } from "./load-stack.js";

/** Where a value starts in its file; 1-based, as editors count. */
export interface Position {
  line: number;
  column: number;
}

/** A YAML value with its place, independent of the YAML library's node types. */
export type YamlValue =
  | (Position & {
      kind: "scalar";
      /** What YAML made of it: `80` is a number, `"80"` and `eighty` are strings. */
      value: string | number | boolean | null;
      /**
       * The scalar as written, for inputs that take text: a plain `1.10` stays "1.10"
       * rather than the number 1.1, and `yes` stays "yes".
       */
      text: string;
    })
  | (Position & { kind: "list"; items: YamlValue[] })
  | (Position & { kind: "mapping"; entries: YamlEntry[] });

export interface YamlEntry {
  key: string;
  keyAt: Position;
  value: YamlValue;
}

export interface ValuesFile {
  /** Absolute path. */
  file: string;
  /** The path as messages show it: relative to the working directory when inside it. */
  shown: string;
  /** Relative paths in the file are relative to this directory. */
  directory: string;
  /** The file's top-level entries, in the order written; an empty file has none. */
  entries: YamlEntry[];
}

/**
 * Reads and parses one values file. Errors are one line naming the file, and the line and
 * column when there is one: not YAML, not a mapping at the top, a key that is not a plain
 * name, a key given twice. Which keys are inputs is for the caller to say.
 */
export async function readValuesFile(
  path: string,
  options: { cwd: string; signal?: AbortSignal },
): Promise<ValuesFile> {
  throwIfAborted(options.signal);
  const file = resolve(options.cwd, path);
  const shown = shownPath(file, options.cwd);
  let bytes: Buffer;
  try {
    bytes = await readFile(file, { signal: options.signal });
  } catch (err) {
    throwIfAborted(options.signal);
    throw new HlnError("E_INPUT_INVALID", `${shown}: cannot read values file: ${fileReason(err)}`, {
      cause: err,
    });
  }
  let text: string;
  try {
    // Bytes that are not UTF-8 would otherwise become U+FFFD in a value, without a word.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HlnError("E_INPUT_INVALID", `${shown}: not UTF-8 text (a values file is YAML)`);
  }
  return { file, shown, directory: dirname(file), entries: parseValues(text, shown) };
}

/** Parses the text of a values file; `shown` names it in errors. */
export function parseValues(text: string, shown: string): YamlEntry[] {
  const lines = new LineCounter();
  // Duplicate keys are found below, so that the message can say where the first one is.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const fail = (where: Position | undefined, message: string): never => {
    const place = where ? `${shown}:${where.line}:${where.column}` : shown;
    throw new HlnError("E_INPUT_INVALID", `${place}: ${message}`);
  };
  const first = doc.errors[0];
  if (first) {
    const reason =
      first.code === "MULTIPLE_DOCS"
        ? "more than one document (a values file is one mapping)"
        : first.message.replace(/\s+/g, " ");
    fail(at(first.pos[0]), `not YAML: ${reason}`);
  }
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null)) return [];
  if (!isMap(top)) {
    fail(undefined, `expected a mapping of input names to values, got ${kind(top)}`);
  }
  return mappingEntries(
    top as Node,
    {
      doc,
      text,
      at,
      fail,
      made: 0,
      expanding: new Set(),
      targets: new Map(),
    },
    0,
  );
}

/**
 * Most values one file may stand for once its aliases are expanded: nine anchors of nine
 * aliases each make 9^9 values from a few lines (a "billion laughs"), and would take
 * minutes and gigabytes where a real values file holds a few hundred.
 */
const maxValues = 10_000;
/** Deepest nesting of lists and mappings: inputs take a scalar or a list of them. */
const maxDepth = 64;

type At = (offset: number) => Position;
type Fail = (where: Position | undefined, message: string) => never;

/** What the walk over one document shares. */
interface Walk {
  doc: Document;
  text: string;
  at: At;
  fail: Fail;
  /** Values made so far, aliases expanded. */
  made: number;
  /** The anchors being expanded now: one met again refers to itself. */
  expanding: Set<Node>;
  /** Each alias's anchor, once resolved. */
  targets: Map<Node, Node | undefined>;
}

function mappingEntries(node: Node, w: Walk, depth: number): YamlEntry[] {
  const { text, at, fail } = w;
  const entries: YamlEntry[] = [];
  const seen = new Map<string, Position>();
  if (!isMap(node)) return entries;
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    const keyAt = at(keyNode?.range?.[0] ?? node.range?.[0] ?? 0);
    if (!isScalar(keyNode) || typeof keyNode.value !== "string" || keyNode.value === "") {
      const written = keyNode?.range ? text.slice(keyNode.range[0], keyNode.range[1]) : "";
      fail(
        keyAt,
        `a key must be a name, got ${written === "" ? "nothing" : JSON.stringify(written)}`,
      );
    }
    const key = (keyNode as Scalar<string>).value;
    const before = seen.get(key);
    if (before) fail(keyAt, `${key} is given twice (first at line ${before.line})`);
    seen.set(key, keyAt);
    const valueNode = pair.value as Node | null;
    // `key:` with nothing after it: YAML's null, placed just after the key.
    const value: YamlValue = valueNode
      ? toValue(valueNode, w, depth + 1)
      : { kind: "scalar", value: null, text: "", ...keyAt };
    entries.push({ key, keyAt, value });
  }
  return entries;
}

function toValue(node: Node, w: Walk, depth: number): YamlValue {
  const { doc, text, at, fail } = w;
  const where = at(node.range?.[0] ?? 0);
  if (++w.made > maxValues) fail(where, `more than ${maxValues} values once aliases are expanded`);
  if (depth > maxDepth) fail(where, `nested more than ${maxDepth} levels deep`);
  if (isAlias(node)) {
    // Resolving walks the whole document: once per alias, not once per expansion.
    let target = w.targets.get(node);
    if (!w.targets.has(node)) {
      target = node.resolve(doc) as Node | undefined;
      w.targets.set(node, target);
    }
    if (!target) fail(where, `alias *${node.source} names no anchor`);
    if (w.expanding.has(target as Node)) fail(where, `alias *${node.source} refers to itself`);
    w.expanding.add(target as Node);
    try {
      return { ...toValue(target as Node, w, depth), ...where };
    } finally {
      w.expanding.delete(target as Node);
    }
  }
  if (isSeq(node)) {
    return {
      kind: "list",
      items: node.items.map((item) =>
        item === null
          ? { kind: "scalar" as const, value: null, text: "", ...where }
          : toValue(item as Node, w, depth + 1),
      ),
      ...where,
    };
  }
  if (isMap(node)) return { kind: "mapping", entries: mappingEntries(node, w, depth), ...where };
  const scalar = node as Scalar;
  const raw = scalar.value;
  const value =
    raw === null || typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean"
      ? raw
      : String(raw);
  // A plain scalar is kept as written; quoted and block scalars say exactly what they mean.
  const written =
    scalar.type === Scalar.PLAIN && scalar.range
      ? text.slice(scalar.range[0], scalar.range[1])
      : undefined;
  return {
    kind: "scalar",
    value,
    text: written ?? (value === null ? "" : String(value)),
    ...where,
  };
}

function kind(node: unknown): string {
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    return typeof v === "string"
      ? "a string"
      : typeof v === "number"
        ? "a number"
        : typeof v === "boolean"
          ? "a boolean"
          : "a scalar";
  }
  return "something else";
}
