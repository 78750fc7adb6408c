import {
  deployedApps,
  isEmptyApp,
  type ObservedApp,
  observeApp,
  unknownApp,
} from "../../app/observe.js";
import { type AppState, fileStateStore, type StateStore } from "../../app/state-store.js";
import { type AppStatus, appStatus } from "../../app/status.js";
import { findSwarmApp } from "../../app/swarm-app.js";
import { type DeployEngine, openDeployEngine } from "../../engine/deploy-engine.js";
import { HlnError } from "../../errors.js";
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
 * The app's state, or undefined with a warning when its file cannot be read as one: the
 * engine's labels are the truth for what runs, so a damaged state file must not keep
 * status, logs or down from working. `then` says what happens to the file.
 */
export async function readStateOrWarn(
  store: StateStore,
  app: string,
  ctx: CliContext,
  then = "left as it is",
): Promise<AppState | undefined> {
  try {
    return await store.read(app, ctx.signal);
  } catch (err) {
    const e = HlnError.from(err);
    if (e.code !== "E_USAGE") throw e;
    ctx.stderr.write(`hln: warning: ${e.message}; ${then}\n`);
    return undefined;
  }
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
  const [observed, stored] = await Promise.all([
    observeApp(engine.docker, app, signal),
    // Whether the app has a state file, damaged or not: reading it is the caller's.
    store.list(signal),
  ]);
  if (
    isEmptyApp(observed) &&
    !stored.includes(app) &&
    // A swarm app whose overlay network is gone is known by its services and secrets.
    !(await findSwarmApp(engine.docker, app, signal))
  )
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
      out.push(await appStatus(engine.docker, a, await readStateOrWarn(store, a, ctx), ctx.signal));
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
