import { rollbackApp, type ServiceRollback } from "../../app/rollback.js";
import type { CliContext } from "../context.js";
import { lockWaitLine, lockWaitMs } from "../lock-wait.js";
import { formatData, parseOutputFormat } from "../output.js";
import { requireApp, withDeployEngine } from "./status.js";

export interface RollbackCliOptions {
  /** False with --no-wait: fail at once when another hln holds the app's lock. */
  wait?: boolean;
  output?: string;
}

/** One line per service: `api: rolled back (env GREETING changed)`. */
export function formatRollback(results: readonly ServiceRollback[]): string {
  if (results.length === 0) return "no services\n";
  return `${results
    .map((r) =>
      r.outcome === "skipped"
        ? `${r.service}: not rolled back, ${r.reasons.join(", ")}`
        : `${r.service}: ${r.outcome} (${r.reasons.join(", ")})${r.outcome === "rolled back" ? "" : `: ${r.message}`}`,
    )
    .join("\n")}\n`;
}

export async function runRollback(
  app: string,
  service: string | undefined,
  o: RollbackCliOptions,
  ctx: CliContext,
): Promise<void> {
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  const results = await withDeployEngine(ctx, async (engine, store) => {
    await requireApp(engine, store, app, ctx.signal);
    return await rollbackApp({
      docker: engine.docker,
      app,
      ...(service === undefined ? {} : { service }),
      store,
      command: `hln rollback ${app}${service ? ` ${service}` : ""}`,
      signal: ctx.signal,
      lockWaitMs: lockWaitMs(o.wait),
      onLockWait: (message) => ctx.stderr.write(`hln: ${lockWaitLine(message)}\n`),
      onTakeover: (message) => ctx.stderr.write(`hln: ${message}\n`),
      onEvent: (s, message) => ctx.stderr.write(`${s}: ${message}\n`),
      scrub: (t) => ctx.redactor.scrub(t),
    });
  });
  ctx.stdout.write(format ? formatData(results, format) : formatRollback(results));
}
