import type { Command } from "commander";
import { HlnError } from "../../errors.js";
import { locateStack } from "../../stack/catalogue.js";
import { parseStackRef } from "../../stack/stack-ref.js";
import { describeStack, formatStackDescription } from "../../ui/stack-description.js";
import type { CliContext } from "../context.js";
import { formatData, parseOutputFormat } from "../output.js";

/** Columns for text when stdout is not a terminal that says its width. */
export const defaultWidth = 100;

export function outputWidth(ctx: CliContext): number {
  const columns = ctx.stdout.isTTY ? ctx.stdout.columns : undefined;
  return columns && columns > 0 ? columns : defaultWidth;
}

export async function runShow(
  stack: string | undefined,
  o: { dir?: string; output?: string },
  ctx: CliContext,
): Promise<void> {
  // Flags are checked before any stack is loaded (or installed from npm).
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  if (stack !== undefined && o.dir !== undefined)
    throw new HlnError("E_USAGE", `show: give STACK or --dir ${o.dir}, not both`);
  if (stack === undefined && o.dir === undefined)
    throw new HlnError(
      "E_USAGE",
      "show: missing STACK: a name such as hello, npm:PACKAGE, or --dir DIR (see hln list stacks)",
    );
  const ref = o.dir !== undefined ? parseStackRef(o.dir, "--dir") : parseStackRef(stack!, "show");
  const located = await locateStack(ref, {
    env: ctx.env,
    signal: ctx.signal,
    onProgress: (line) => ctx.stderr.write(`hln: ${line}\n`),
  });
  const description = describeStack(located);
  ctx.stdout.write(
    format
      ? formatData(description, format)
      : formatStackDescription(description, outputWidth(ctx)),
  );
}

export function registerShow(program: Command, ctx: CliContext): void {
  program
    .command("show")
    .description("describe a stack: where it is from, its inputs and its actions")
    .argument("[stack]", "NAME[@VERSION], npm:PACKAGE[@RANGE], or a path such as ./dir")
    .option("--dir <dir>", "a local stack: a directory with stack.ts, or a stack file")
    .option("-o, --output <format>", "yaml or json (default: text for people)")
    .addHelpText(
      "after",
      `
The JSON (and YAML) output is one object; fields with nothing to say are null:
  { "name", "version", "source": "bundled" | "npm" | "local", "reference" (what -s or
    --dir takes to name it again), "file" (the stack module), "package": { "name",
    "version" } | null, "description": string | null, "tags": [string],
    "inputs": [{ "name", "type": "string" | "number" | "boolean" | "enum" | "path" |
      "secret" | "list", "values": [string] | null (enum), "default" (null when none;
      always null for a secret), "required": boolean, "env": string | null,
      "description": string | null }],
    "actions": [string] }

Examples:
  hln show hello
  hln show hello@0.1.0 --output json
  hln show npm:@acme/shop@^1.2
  hln show --dir ./my-stack`,
    )
    .action(async (stack: string | undefined, opts: { dir?: string; output?: string }) => {
      await runShow(stack, opts, ctx);
    });
}
