import { appLogs } from "../../app/app-logs.js";
import { findSwarmApp } from "../../app/swarm-app.js";
import { swarmLogSources } from "../../app/swarm-logs.js";
import { durationMs } from "../../duration.js";
import { HlnError } from "../../errors.js";
import { servicePrefixes, wantsColor } from "../../ui/service-prefix.js";
import type { CliContext } from "../context.js";
import { requireApp, withDeployEngine } from "./status.js";

/**
 * `--since`: a duration back from now (`10m`, `1h30m`), a time (RFC 3339, e.g.
 * `2026-12-02T10:00:00Z`), or Unix seconds, as `docker logs --since` takes them. Returns
 * Unix seconds.
 */
export function parseSince(text: string, now: number): number {
  const ms = durationMs(text);
  if (ms !== undefined) return (now - ms) / 1000;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // Date.parse reads far more than RFC 3339 ("1", "May"): only a date, optionally with a time.
  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t / 1000;
  }
  throw new HlnError(
    "E_USAGE",
    `--since ${text}: expected a duration such as 10m or 2h, or a time such as 2026-12-02T10:00:00Z`,
  );
}

export function parseTail(text: string): number | undefined {
  if (text === "all") return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  throw new HlnError("E_USAGE", `--tail ${text}: expected a number of lines, or all`);
}

export async function runLogs(
  app: string,
  services: string[],
  o: { follow?: boolean; since?: string; tail?: string },
  ctx: CliContext,
): Promise<void> {
  const since = o.since === undefined ? undefined : parseSince(o.since, ctx.now());
  const tail = o.tail === undefined ? undefined : parseTail(o.tail);
  if (o.follow) ctx.expectInterrupt?.();
  let swarm = false;
  await withDeployEngine(ctx, async (engine, store) => {
    const observed = await requireApp(engine, store, app, ctx.signal);
    const onSwarm = await findSwarmApp(engine.docker, app, ctx.signal);
    swarm = onSwarm !== undefined;
    // On a swarm each line names its task and node (api.1@node-a); the current tasks set
    // the prefixes' width, and a task made later gets a prefix of its own.
    const prefix = servicePrefixes(
      onSwarm
        ? await swarmLogSources(engine.docker, onSwarm, services, ctx.signal)
        : services.length > 0
          ? services
          : observed.containers.map((c) => c.service),
      { color: wantsColor(ctx.env, ctx.stdout) },
    );
    const lines = appLogs(engine.docker, app, {
      services,
      follow: o.follow === true,
      ...(since === undefined ? {} : { since }),
      ...(tail === undefined ? {} : { tail }),
      signal: ctx.signal,
    });
    for await (const line of lines)
      ctx.stdout.write(`${prefix(line.source ?? line.service)}${ctx.redactor.scrub(line.text)}\n`);
  });
  // Ctrl-C is how -f ends, as for `docker logs -f` and `tail -f`: quietly, exit 0. A fault
  // (or a closed output) aborts the signal too, and main reports those.
  if (ctx.signal.aborted && (!o.follow || ctx.faults.first))
    throw new HlnError("E_ABORTED", "cancelled", { cause: ctx.signal.reason });
  // The follow ended without Ctrl-C: the app has no containers left.
  if (o.follow && !ctx.signal.aborted)
    ctx.stderr.write(`hln: app ${app} is gone (no ${swarm ? "services" : "containers"} left)\n`);
}
