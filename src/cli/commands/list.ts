import { appListing, swarmAppListing } from "../../app/app-listing.js";
import { observeApp } from "../../app/observe.js";
import { findSwarmApp } from "../../app/swarm-app.js";
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
      names.map(async (app) => {
        const state = await readStateOrWarn(store, app, ctx);
        const swarm = await findSwarmApp(engine.docker, app, ctx.signal);
        return swarm
          ? swarmAppListing(swarm, state)
          : appListing(await observeApp(engine.docker, app, ctx.signal), state);
      }),
    );
  });
  ctx.stdout.write(format ? formatData(apps, format) : formatAppListing(apps, outputWidth(ctx)));
}
