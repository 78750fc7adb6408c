import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { stringify } from "yaml";
import { parseRegistry } from "../../app/build-images.js";
import { type AppState, fileStateStore } from "../../app/state-store.js";
import { parseTarget } from "../../app/target.js";
import { checkAppName, upApp } from "../../app/up.js";
import { parseDuration } from "../../duration.js";
import type { Engine } from "../../engine/engine.js";
import { HlnError } from "../../errors.js";
import { locateStack } from "../../stack/catalogue.js";
import type { PreparedStack } from "../../stack/prepare-stack.js";
import { runAction } from "../../stack/run-action.js";
import { parseStackRef } from "../../stack/stack-ref.js";
import { parseValues, type ValuesFile } from "../../stack/values-file.js";
import { deployEvent, formatPlan, formatUpResult, planEvent } from "../../ui/app-plan.js";
import type { CliContext } from "../context.js";
import { lockWaitLine, lockWaitMs } from "../lock-wait.js";
import type { LogFormat } from "../log-format.js";
import { openFromCli } from "../open-engine.js";
import { formatData, parseOutputFormat } from "../output.js";
import { cacheFlagNames } from "../setting-words.js";
import { ledgerFor, progressFor } from "../stack-flags.js";
import { prepareFromCli } from "./do.js";

export interface UpOptions {
  stack?: string;
  dir?: string;
  file: string[];
  set: string[];
  interactive?: boolean;
  dryRun?: boolean;
  noCache?: boolean;
  output?: string;
  cacheTo: string[];
  cacheFrom: string[];
  /** False with --no-ledger. */
  ledger?: boolean;
  /** False with --no-wait: fail at once when another hln holds the app's lock. */
  wait?: boolean;
  target?: string;
  registry?: string;
  /** false with --no-mesh. */
  mesh?: boolean;
}

/** Builds what the stack declares and converges the app on the Docker engine. */
export async function runUp(
  appArg: string | undefined,
  o: UpOptions,
  logFormat: LogFormat,
  ctx: CliContext,
): Promise<void> {
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  const target = o.target === undefined ? undefined : parseTarget(o.target, "--target");
  const registryValue = o.registry ?? (ctx.env.HLN_REGISTRY || undefined);
  const registry =
    registryValue === undefined
      ? undefined
      : parseRegistry(registryValue, o.registry !== undefined ? "--registry" : "HLN_REGISTRY");
  if (appArg !== undefined) checkAppName(appArg, "up");
  const named = o.stack !== undefined || o.dir !== undefined;
  const here = existsSync(resolve(ctx.cwd ?? ".", "stack.ts"));
  let engine: Engine | undefined;
  try {
    // With a stack named (or one here), everything about it is checked before the engine.
    let prepared =
      named || (appArg === undefined && here) ? await prepareFromCli(o, ctx) : undefined;
    engine = await openFromCli(ctx);
    if (!prepared) {
      if (appArg === undefined)
        throw new HlnError(
          "E_USAGE",
          "up: no stack named, and no stack.ts here: pass -s NAME (see hln list stacks), --dir DIR, or the name of a deployed app",
          { hint: "hln up --help" },
        );
      prepared = await recordedStack(appArg, engine, o, ctx, here);
    }
    const app = appArg ?? prepared.stack.name;
    checkAppName(app, "app");
    const progress = progressFor(logFormat, ctx);
    let progressEnded = false;
    const endProgress = (error: boolean) => {
      if (progressEnded) return;
      progressEnded = true;
      progress.end({ error });
    };
    const say = (line: string) => ctx.stderr.write(`hln: ${ctx.redactor.scrub(line)}\n`);
    const quiet = logFormat === "quiet";
    // JSON progress stays JSON to its end: the plan and converge's steps are events too.
    const json = logFormat === "json";
    let result: Awaited<ReturnType<typeof upApp>>;
    try {
      result = await upApp({
        app,
        engine,
        prepared,
        env: ctx.env,
        signal: ctx.signal,
        dryRun: o.dryRun,
        ...(target ? { target } : {}),
        ...(registry ? { registry } : {}),
        ...(o.mesh === false ? { mesh: false } : {}),
        noCache: o.noCache,
        ledger: ledgerFor(o, ctx, progress),
        command: ["hln", "up", app, ...(o.dryRun ? ["--dry-run"] : [])].join(" "),
        onStatus: (s) => progress.update(s),
        onWarning: (m) => say(`warning: ${m}`),
        redactor: ctx.redactor,
        cache: {
          names: cacheFlagNames,
          ...(o.cacheFrom.length > 0 ? { from: o.cacheFrom } : {}),
          ...(o.cacheTo.length > 0 ? { to: o.cacheTo } : {}),
        },
        silenceTimeoutMs: ctx.env.HLN_SILENCE_TIMEOUT
          ? parseDuration(ctx.env.HLN_SILENCE_TIMEOUT, "HLN_SILENCE_TIMEOUT")
          : undefined,
        faults: ctx.faults,
        onPlan: (plan) => {
          // The build is over: its progress gives way to the plan and what converge does.
          endProgress(false);
          const stack = `${prepared.stack.name}@${prepared.stack.version}`;
          const endpoint = engine?.docker.endpoint ?? "";
          if (json) ctx.stderr.write(`${planEvent(plan, stack, endpoint)}\n`);
          else if (!quiet || o.dryRun) ctx.stderr.write(formatPlan(plan, { stack, endpoint }));
        },
        onEvent: (service, message) => {
          if (json)
            ctx.stderr.write(`${deployEvent(service, ctx.redactor.scrub(message), ctx.now())}\n`);
          else if (!quiet) say(`${service}: ${message}`);
        },
        onTakeover: (m) => say(m),
        lockWaitMs: lockWaitMs(o.wait),
        onLockWait: (m) => say(lockWaitLine(m)),
      });
    } finally {
      endProgress(true);
    }
    const printable = {
      app: result.app,
      dryRun: result.dryRun,
      unchanged: result.unchanged,
      changes: result.changes,
      services: result.addresses,
      outputs: result.outputs ?? null,
      stateFile: result.stateFile,
    };
    ctx.stdout.write(
      ctx.redactor.scrub(format ? formatData(printable, format) : formatUpResult(result)),
    );
  } finally {
    engine?.close();
  }
}

/** `hln up APP` with no stack named: the stack and inputs of the app's last deploy. */
async function recordedStack(
  app: string,
  engine: Engine,
  o: UpOptions,
  ctx: CliContext,
  here: boolean,
) {
  const info = await engine.docker.info({ signal: ctx.signal });
  const store = fileStateStore({ env: ctx.env, engineId: info.ID ?? "" });
  const state = await store.read(app, ctx.signal);
  if (!state) {
    if (here) return prepareFromCli(o, ctx);
    throw new HlnError(
      "E_USAGE",
      `up ${app}: no app ${app} was deployed from this machine to ${engine.docker.endpoint}, and no stack.ts here: name its stack with -s or --dir`,
    );
  }
  ctx.stderr.write(`hln: up ${app}: stack ${state.stack.ref} with the inputs of its last deploy\n`);
  return prepareRecorded(state, `${store.location}/${app}.json`, o, ctx);
}

/**
 * Finds the stack an app was deployed from and gathers its inputs as they were recorded,
 * under what the user gives now (`-f`, `--set`, `-i`). A secret typed at a prompt was
 * never kept: it is asked for again under `-i`.
 */
export function prepareRecorded(
  state: AppState,
  file: string,
  o: Pick<UpOptions, "file" | "set" | "interactive">,
  ctx: CliContext,
): Promise<PreparedStack> {
  const shown = `${file} (inputs of the last deploy)`;
  const replay: Record<string, unknown> = { ...state.inputs };
  for (const [name, source] of Object.entries(state.secretSources))
    if (source !== "prompt") replay[name] = source;
  const preset: ValuesFile = {
    file,
    shown,
    directory: "/",
    entries: parseValues(stringify(replay), shown),
  };
  return prepareFromCli({ ...o, stack: state.stack.ref, presets: [preset] }, ctx);
}

/**
 * What `hln down` runs before it removes anything: the stack's own `down` action, when it
 * has one, with the inputs of the last deploy. A stack that cannot be found or prepared
 * any more does not keep the app from going; a down action that fails does.
 */
export async function runStackDown(
  state: AppState | undefined,
  file: string,
  logFormat: LogFormat,
  ctx: CliContext,
): Promise<void> {
  if (!state) return;
  const skipped = (err: unknown) => {
    if (ctx.signal.aborted) throw err;
    ctx.stderr.write(
      `hln: warning: the stack's down action was not run: ${ctx.redactor.scrub(HlnError.from(err).message)}\n`,
    );
  };
  // Its inputs are gathered only for a stack that has a down action to give them to.
  try {
    const located = await locateStack(parseStackRef(state.stack.ref), {
      env: ctx.env,
      signal: ctx.signal,
    });
    if (!Object.hasOwn(located.stack.actions, "down")) return;
  } catch (err) {
    return skipped(err);
  }
  let prepared: PreparedStack;
  try {
    prepared = await prepareRecorded(state, file, { file: [], set: [] }, ctx);
  } catch (err) {
    return skipped(err);
  }
  ctx.stderr.write(`hln: running action "down" of stack ${state.stack.ref}\n`);
  const engine = await openFromCli(ctx);
  const progress = progressFor(logFormat, ctx);
  let failed = true;
  try {
    await runAction(
      {
        engine,
        prepared,
        action: "down",
        env: ctx.env,
        signal: ctx.signal,
        onStatus: (s) => progress.update(s),
        redactor: ctx.redactor,
        faults: ctx.faults,
      },
      async () => {},
    );
    failed = false;
  } finally {
    progress.end({ error: failed });
    engine.close();
  }
}
