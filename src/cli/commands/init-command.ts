/**
 * `hln init`: its arguments, flags and help. What it does lives in init.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command("init")
    .description("write a new stack, ready to run and to edit")
    .argument("[dir]", "the directory to write it into, created if missing (default: .)")
    .option("-n, --name <name>", "the stack's name (default: the directory's name, made valid)")
    .addHelpText(
      "after",
      `
Writes stack.ts, package.json, tsconfig.json, README.md and .gitignore. The directory
must be new or empty (a .git in it is fine); nothing is ever overwritten. tsconfig.json
points the editor at this hln's types, so stack.ts type-checks with no npm install.

Examples:
  hln init shop
  hln init --name web-api ./services/api
  mkdir demo && cd demo && git init && hln init && hln do up`,
    )
    .action(async (dir: string | undefined, opts: { name?: string }) => {
      const { runInit } = await import("./init.js");
      await runInit(dir, opts, ctx);
    });
}
