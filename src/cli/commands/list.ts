import type { Command } from "commander";
import { appListing } from "../../app/app-listing.js";
import { observeApp } from "../../app/observe.js";
import { HlnError } from "../../errors.js";
import { listStacks, type StackListing } from "../../stack/catalogue.js";
import { formatAppListing } from "../../ui/app-status.js";
import { formatTable } from "../../ui/text-table.js";
import type { CliContext } from "../context.js";
import { formatData, parseOutputFormat } from "../output.js";
import { outputWidth } from "./show.js";
import { knownApps, readStateOrWarn, withDeployEngine } from "./status.js";

/** The stacks as `hln list stacks` prints them: a table fitted to `width` columns. */
export function formatStackListing(stacks: readonly StackListing[], width: number): string {
  return formatTable(
    [
      { header: "NAME", max: 32 },
      { header: "VERSION", max: 16 },
      { header: "SOURCE" },
      { header: "DESCRIPTION" },
    ],
    stacks.map((s) => [s.name, s.version, s.source, s.description ?? ""]),
    { width },
  );
}

/** A listing with the same fields every time, for --output json: absent ones are null. */
function stableListing(s: StackListing) {
  return {
    name: s.name,
    version: s.version,
    source: s.source,
    reference: s.reference,
    description: s.description ?? null,
    tags: [...(s.tags ?? [])],
  };
}

export async function runListStacks(o: { output?: string }, ctx: CliContext): Promise<void> {
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  const stacks = await listStacks({ env: ctx.env, signal: ctx.signal });
  ctx.stdout.write(
    format
      ? formatData(stacks.map(stableListing), format)
      : formatStackListing(stacks, outputWidth(ctx)),
  );
}

export async function runListApps(o: { output?: string }, ctx: CliContext): Promise<void> {
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  const apps = await withDeployEngine(ctx, async (engine, store) => {
    const names = await knownApps(engine, store, ctx.signal);
    return await Promise.all(
      names.map(async (app) =>
        appListing(
          await observeApp(engine.docker, app, ctx.signal),
          await readStateOrWarn(store, app, ctx),
        ),
      ),
    );
  });
  ctx.stdout.write(format ? formatData(apps, format) : formatAppListing(apps, outputWidth(ctx)));
}

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
container runs, of all services (jobs aside). The JSON (and YAML) output is a list, by name, of
  { "app", "stack": string | null, "version": string | null,
    "services": { "running", "total" }, "lastDeploy": { "at", "result" } | null }

Examples:
  hln list apps
  hln list apps --output json`,
    )
    .action(async (opts: { output?: string }) => {
      await runListApps(opts, ctx);
    });
}
