/**
 * `hln show`: its arguments, flags and help. What it does lives in show.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";

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
      const { runShow } = await import("./show.js");
      await runShow(stack, opts, ctx);
    });
}
