/**
 * `hln list`: its arguments, flags and help. What it does lives in list.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import { HlnError } from "../../errors.js";
import type { CliContext } from "../context.js";

export function registerList(program: Command, ctx: CliContext): void {
  const list = program
    .command("list")
    .description("list stacks or apps")
    .argument("[what]", "what to list: stacks or apps")
    .addHelpText(
      "after",
      "\nExamples:\n  hln list stacks\n  hln list apps\n  hln list stacks --output json",
    )
    .action((what: string | undefined) => {
      // Reached only when no subcommand matched.
      throw new HlnError(
        "E_USAGE",
        what === undefined
          ? "list: say what to list: hln list stacks or hln list apps"
          : `list ${what}: unknown; hln list stacks lists the stacks, hln list apps the apps`,
      );
    });
  list
    .command("stacks")
    .description("the stacks -s NAME can name: bundled with hln, and cached from npm")
    .option("-o, --output <format>", "yaml or json (default: a table)")
    .addHelpText(
      "after",
      `
The JSON (and YAML) output is a list, by name then newest version first, of
  { "name", "version", "source": "bundled" | "npm", "reference" (what -s takes),
    "description": string | null, "tags": [string] }

Examples:
  hln list stacks
  hln list stacks --output json`,
    )
    .action(async (opts: { output?: string }) => {
      const { runListStacks } = await import("./list.js");
      await runListStacks(opts, ctx);
    });
  list
    .command("apps")
    .description("the apps on the deploy engine: stack, version, services running, last deploy")
    .option("-o, --output <format>", "yaml or json (default: a table)")
    .addHelpText(
      "after",
      `
The apps are those the deploy engine (DOCKER_HOST, else the Docker context, else the local
socket) holds by label, and those hln keeps state for. SERVICES counts services whose
container runs, of all services (jobs aside); on a swarm, services all of whose tasks run. The JSON (and YAML) output is a list, by name, of
  { "app", "stack": string | null, "version": string | null,
    "services": { "running", "total" }, "lastDeploy": { "at", "result" } | null }

Examples:
  hln list apps
  hln list apps --output json`,
    )
    .action(async (opts: { output?: string }) => {
      const { runListApps } = await import("./list.js");
      await runListApps(opts, ctx);
    });
}
