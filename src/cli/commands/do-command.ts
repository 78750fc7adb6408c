/**
 * `hln do`: its arguments, flags and help. What it does lives in do.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import type { LogFormat } from "../log-format.js";
import { cacheFlags, inputFlags, stackFlags } from "../stack-flags.js";
import type { DoOptions } from "./do.js";

export function registerDo(program: Command, ctx: CliContext, logFormat: () => LogFormat): void {
  const command = stackFlags(
    program
      .command("do")
      .description("run one action of a stack")
      .argument("<action>", "the action to run, e.g. up"),
  ).option("-p, --plan <dir>", "the same as --dir (Dagger 0.2's name for it)");
  cacheFlags(
    inputFlags(command).option(
      "-o, --output <format>",
      "how to print the action's result: yaml or json",
      "yaml",
    ),
  )
    .addHelpText(
      "after",
      `
Examples:
  hln do up -s hello
  hln do up -s hello --set greeting=bonjour --output json
  hln do up -s npm:@acme/shop@^1.2 -f values.yaml -f values.prod.yaml -i
  hln do up --dir ./my-stack --set rounds=40
  hln do up --dir . --cache-from type=registry,ref=registry.example/app:cache \\
    --cache-to type=registry,ref=registry.example/app:cache,mode=max
  hln --log-format plain do up --dir ./stack.ts

Inputs come from, lowest first: the stack's defaults, their declared environment
variables, each -f file, each --set, then -i prompts. A secret input is given as
env:VAR, file:PATH or command:CMD (or its declared variable, or a prompt), never as
a literal value.`,
    )
    .action(async (action: string, opts: DoOptions) => {
      const { runDo } = await import("./do.js");
      await runDo(action, opts, logFormat(), ctx);
    });
}
