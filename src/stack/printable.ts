/**
 * What an action's result may hold to be printed, decided once for YAML and JSON alike:
 * a result prints the same data in both formats, or fails in both with the path of the
 * value at fault. JSON.stringify would turn a function or a Map into `{}` and NaN into
 * null without a word; a script reading the output deserves the data or an error.
 *
 * - plain objects, arrays, strings, booleans, null and finite numbers print as they are;
 * - a BigInt prints as an integer (YAML and JSON numbers have no size limit);
 * - a Map with string keys prints as an object, a Set as a list;
 * - an object with `toJSON()` (a Date, a URL) prints as what that returns, as in JSON;
 * - `undefined` is left out of objects and is null in lists, as in JSON;
 * - anything else (a function, a symbol, NaN, a class instance such as a Container, a
 *   circular reference) is an error naming its path, e.g. `result.items[2]`.
 */
import { HlnError } from "../errors.js";

/** The result as plain data; throws E_STACK_ACTION naming the first value that cannot print. */
export function toPrintable(value: unknown, path = "result"): unknown {
  return convert(value, path, new Map());
}

function fail(path: string, what: string, hint?: string): never {
  throw new HlnError("E_STACK_ACTION", `${path}: ${what} cannot be printed`, { hint });
}

function convert(value: unknown, path: string, open: Map<object, string>): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return value;
    case "number":
      if (!Number.isFinite(value)) fail(path, String(value));
      return value;
    case "bigint":
      return value;
    case "function":
      fail(path, "a function", "return data, e.g. await the function's result");
      break;
    case "symbol":
      fail(path, "a symbol");
  }
  if (value === null) return null;
  const obj = value as object;
  const seen = open.get(obj);
  if (seen !== undefined) fail(path, `a circular reference (to ${seen})`);
  open.set(obj, path);
  try {
    if (Array.isArray(obj)) return obj.map((v, i) => convert(v, `${path}[${i}]`, open) ?? null);
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) {
        // Keys print as YAML and JSON keys do: strings; numbers and the like as text.
        if (typeof k === "object" || typeof k === "function" || typeof k === "symbol")
          fail(path, `a Map with ${article(typeof k)} ${typeof k} key`);
        const key = String(k);
        const c = convert(v, member(path, key), open);
        if (c !== undefined) define(out, key, c);
      }
      return out;
    }
    if (obj instanceof Set) {
      let i = 0;
      return [...obj].map((v) => convert(v, `${path}[${i++}]`, open) ?? null);
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return convert(toJSON.call(obj), path, open);
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name;
      fail(
        path,
        name ? `${article(name)} ${name}` : "an object of a class",
        obj instanceof Promise
          ? "await it before returning it"
          : name === "Container" || name === "Directory" || name === "File"
            ? "return what it produced instead, e.g. await its stdout() or contents()"
            : "return plain data (objects, lists, strings, numbers)",
      );
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      const c = convert((obj as Record<string, unknown>)[k], member(path, k), open);
      if (c !== undefined) define(out, k, c);
    }
    return out;
  } finally {
    open.delete(obj);
  }
}

/** Sets `key` even when it is `__proto__`, which plain assignment would swallow. */
function define(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function member(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? "an" : "a";
}
