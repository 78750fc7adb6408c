import { createInterface } from "node:readline/promises";
import type { ObservedApp } from "../../app/observe.js";
import { removeApp } from "../../app/remove-app.js";
import type { AppState } from "../../app/state-store.js";
import { findSwarmApp } from "../../app/swarm-app.js";
import type { ObservedSwarmApp } from "../../app/swarm-observe.js";
import { HlnError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { lockWaitLine, lockWaitMs } from "../lock-wait.js";
import { readStateOrWarn, requireApp, withDeployEngine } from "./status.js";

export interface DownOptions {
  /** Do not ask. */
  yes?: boolean;
  /** Remove the app's named volumes too. */
  volumes?: boolean;
  /** False with --no-wait: fail at once when another hln holds the app's lock. */
  wait?: boolean;
}

export interface DownHooks {
  /**
   * Runs once the app's lock is held and before anything is removed, with the app's state
   * (undefined when this machine has none): where the stack's own `down` action goes. A
   * throw stops the removal, and the lock is released.
   */
  beforeRemove?: (state: AppState | undefined) => Promise<void>;
}

/** What the question names, e.g. `3 containers, network hln-shop`. */
export function describeRemoval(observed: ObservedApp): string {
  const n = observed.containers.length;
  const parts = [`${n} container${n === 1 ? "" : "s"}`];
  if (observed.network) parts.push(`network ${observed.network.name}`);
  return parts.join(", ");
}

/** The same for an app on a swarm: `2 swarm services, 1 secret, network hln-shop`. */
export function describeSwarmRemoval(observed: ObservedSwarmApp): string {
  const n = observed.services.length;
  const k = observed.secrets.length;
  const parts = [`${n} swarm service${n === 1 ? "" : "s"}`];
  if (k > 0) parts.push(`${k} secret${k === 1 ? "" : "s"}`);
  if (observed.network) parts.push(`network ${observed.network.name}`);
  return parts.join(", ");
}

/** True for an answer that means yes; anything else, an empty line included, is no. */
export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}

export async function runDown(
  app: string,
  opts: DownOptions,
  ctx: CliContext,
  hooks: DownHooks = {},
): Promise<void> {
  const stdin = ctx.stdin ?? process.stdin;
  await withDeployEngine(ctx, async (engine, store) => {
    const observed = await requireApp(engine, store, app, ctx.signal);
    const swarm = await findSwarmApp(engine.docker, app, ctx.signal);
    if (!opts.yes && stdin.isTTY !== true)
      throw new HlnError(
        "E_USAGE",
        `down ${app}: no terminal to confirm on; pass -y to remove the app without asking`,
      );
    if (!opts.yes)
      await confirm(
        `Remove app ${app} (${swarm ? describeSwarmRemoval(swarm) : describeRemoval(observed)})? [y/N] `,
        stdin,
        ctx,
      );
    const lock = await store.lock(app, {
      command: `hln down ${app}`,
      signal: ctx.signal,
      onTakeover: (message) => ctx.stderr.write(`hln: ${message}\n`),
      waitMs: lockWaitMs(opts.wait),
      onWait: (message) => ctx.stderr.write(`hln: ${lockWaitLine(message)}\n`),
    });
    try {
      const state = await readStateOrWarn(store, app, ctx, "it goes with the app");
      await hooks.beforeRemove?.(state);
      const removed = await removeApp(engine.docker, app, {
        volumes: opts.volumes === true,
        signal: ctx.signal,
        onWait: (message) => ctx.stderr.write(`hln: ${message}\n`),
      });
      await store.remove(app, ctx.signal);
      const out: string[] = [];
      for (const c of removed.containers) out.push(`removed container ${c}`);
      for (const s of removed.swarm?.services ?? []) out.push(`removed service ${s}`);
      for (const s of removed.swarm?.secrets ?? []) out.push(`removed secret ${s}`);
      if (removed.network) out.push(`removed network ${removed.network}`);
      for (const i of removed.images) out.push(`removed image ${i}`);
      for (const v of removed.removedVolumes) out.push(`removed volume ${v}`);
      for (const v of removed.keptVolumes)
        out.push(`kept volume ${v} (pass --volumes to remove it)`);
      // Each node made its own copy of a volume its tasks mounted: the manager reaches none.
      for (const e of removed.swarm?.elsewhere ?? [])
        out.push(
          opts.volumes
            ? `node ${e.node} may hold volume ${e.volumes.join(", ")} too: remove it there (docker volume rm ${e.volumes.join(" ")} on that node's engine)`
            : `node ${e.node} may hold volume ${e.volumes.join(", ")} too, kept like the manager's`,
        );
      ctx.stdout.write(out.length > 0 ? `${out.join("\n")}\n` : `removed app ${app}\n`);
    } finally {
      lock.release();
    }
  });
}

/** Asks on stderr and reads one line of stdin; anything but yes removes nothing. */
async function confirm(
  question: string,
  stdin: NodeJS.ReadableStream,
  ctx: CliContext,
): Promise<void> {
  const rl = createInterface({ input: stdin, output: ctx.stderr, terminal: false });
  let abort = () => {};
  let answer: string;
  try {
    ctx.stderr.write(question);
    answer = await new Promise<string>((resolve, reject) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
      abort = () => reject(new HlnError("E_ABORTED", "cancelled", { cause: ctx.signal.reason }));
      if (ctx.signal.aborted) abort();
      ctx.signal.addEventListener("abort", abort, { once: true });
    });
  } finally {
    ctx.signal.removeEventListener("abort", abort);
    rl.close();
  }
  if (!isYes(answer)) throw new HlnError("E_ABORTED", "down: not confirmed; nothing was removed");
}
