import { stringify } from "yaml";
import { HlnError } from "../errors.js";

export type OutputFormat = "yaml" | "json";

export function parseOutputFormat(value: string): OutputFormat {
  if (value === "yaml" || value === "json") return value;
  throw new HlnError("E_USAGE", `--output ${value}: expected yaml or json`);
}

/** Renders data for stdout: YAML for people, JSON for scripts. */
export function formatData(data: unknown, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(data ?? null, null, 2)}\n`;
  if (data === undefined) return "";
  return stringify(data, { lineWidth: 0 });
}
