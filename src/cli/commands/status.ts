import type { Command } from "commander";
import {
  deployedApps,
  isEmptyApp,
  type ObservedApp,
  observeApp,
  unknownApp,
} from "../../app/observe.js";
import { fileStateStore, type StateStore } from "../../app/state-store.js";
import { type AppStatus, appStatus } from "../../app/status.js";
import { type DeployEngine, openDeployEngine } from "../../engine/deploy-engine.js";
import { formatAppStatus } from "../../ui/app-status.js";
import { colorEnabled } from "../../ui/colors.js";
import type { CliContext } from "../context.js";
import { formatData, parseOutputFormat } from "../output.js";
import { outputWidth } from "./show.js";

/** The deploy engine and the app state kept for it, for the app commands; closed after `run`. */
export async function withDeployEngine<T>(
  ctx: CliContext,
  run: (engine: DeployEngine, store: StateStore) => Promise<T>,
): Promise<T> {
  const engine = await openDeployEngine({ env: ctx.env, signal: ctx.signal });
  try {
    return await run(engine, fileStateStore({ env: ctx.env, engineId: engine.id }));
  } finally {
    engine.close();
  }
}

/** Every app: on the engine (by label) and in the state store (deployed from here), sorted. */
export async function knownApps(
  engine: DeployEngine,
  store: StateStore,
  signal?: AbortSignal,
): Promise<string[]> {
  const [deployed, stored] = await Promise.all([
    deployedApps(engine.docker, signal),
    store.list(signal),
  ]);
  return [...new Set([...deployed, ...stored])].sort();
}

/**
 * Fails with the one-line "does not exist" error, listing the apps that do, when neither
 * the engine nor the state store knows `app`; otherwise what runs of it.
 */
export async function requireApp(
  engine: DeployEngine,
  store: StateStore,
  app: string,
  signal?: AbortSignal,
): Promise<ObservedApp> {
  const [observed, state] = await Promise.all([
    observeApp(engine.docker, app, signal),
    store.read(app, signal),
  ]);
  if (isEmptyApp(observed) && state === undefined)
    throw unknownApp(app, engine.endpoint, await knownApps(engine, store, signal));
  return observed;
}

export async function runStatus(
  app: string | undefined,
  o: { output?: string },
  ctx: CliContext,
): Promise<void> {
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  const statuses = await withDeployEngine(ctx, async (engine, store) => {
    if (app !== undefined) await requireApp(engine, store, app, ctx.signal);
    const apps = app === undefined ? await knownApps(engine, store, ctx.signal) : [app];
    const out: AppStatus[] = [];
    for (const a of apps)
      out.push(await appStatus(engine.docker, a, await store.read(a, ctx.signal), ctx.signal));
    return out;
  });
  if (format) {
    ctx.stdout.write(formatData(app === undefined ? statuses : statuses[0], format));
    return;
  }
  if (statuses.length === 0) {
    ctx.stdout.write("no apps\n");
    return;
  }
  const text = {
    width: outputWidth(ctx),
    now: ctx.now(),
    color: colorEnabled(ctx.env, ctx.stdout.isTTY === true),
  };
  ctx.stdout.write(statuses.map((s) => formatAppStatus(s, text)).join("\n"));
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description(
      "the services of an app (or of every app): state, health, image, ports, since; its outputs",
    )
    .argument("[app]", "the app (default: every app on the deploy engine)")
    .option("-o, --output <format>", "yaml or json (default: a table)")
    .addHelpText(
      "after",
      `
The deploy engine is the Docker engine of DOCKER_HOST, else the Docker context, else the
local socket. What runs is read from its labels, so this works from any machine that
reaches it; the stack, outputs and last deploy come from the state hln up kept.
A failed service is shown as failed and the command still exits 0: exit 2 means no such app.

Examples:
  hln status
  hln status shop
  hln status shop --output json`,
    )
    .action(async (app: string | undefined, opts: { output?: string }) => {
      await runStatus(app, opts, ctx);
    });
}
