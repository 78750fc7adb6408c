import { stringify } from "yaml";
import { HlnError } from "../errors.js";

export type OutputFormat = "yaml" | "json";

export function parseOutputFormat(value: string): OutputFormat {
  if (value === "yaml" || value === "json") return value;
  throw new HlnError("E_USAGE", `--output ${value}: expected yaml or json`);
}

/**
 * Renders data for stdout: YAML for people, JSON for scripts. `data` is plain data (see
 * printable.ts), where a bigint is an integer of any size.
 */
export function formatData(data: unknown, format: OutputFormat): string {
  if (format === "json") return `${json(data ?? null, "")}\n`;
  if (data === undefined) return "";
  return stringify(data, { lineWidth: 0 });
}

/** JSON.stringify(data, null, 2), except that a bigint is written as the integer it is. */
function json(v: unknown, indent: string): string {
  if (typeof v === "bigint") return v.toString();
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return json(toJSON.call(v), indent);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => inner + json(x ?? null, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${json(x, inner)}`).join(",\n")}\n${indent}}`;
}
