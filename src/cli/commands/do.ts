import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseDuration } from "../../duration.js";
import { HlnError } from "../../errors.js";
import { resolveCache } from "../../stack/cache-spec.js";
import { type PreparedStack, prepareStack } from "../../stack/prepare-stack.js";
import { actionOf, runAction } from "../../stack/run-action.js";
import type { StackRef } from "../../stack/stack-ref.js";
import { parseStackRef } from "../../stack/stack-ref.js";
import { createTerminalPrompter } from "../../stack/terminal-prompt.js";
import type { ValuesFile } from "../../stack/values-file.js";
import type { CliContext } from "../context.js";
import type { LogFormat } from "../log-format.js";
import { openFromCli } from "../open-engine.js";
import { formatData, parseOutputFormat } from "../output.js";
import { cacheFlagNames } from "../setting-words.js";
import { ledgerFor, progressFor } from "../stack-flags.js";

export interface DoOptions {
  stack?: string;
  dir?: string;
  plan?: string;
  file: string[];
  set: string[];
  interactive?: boolean;
  output: string;
  cacheTo: string[];
  cacheFrom: string[];
  /** False with --no-ledger. */
  ledger?: boolean;
}

/** Runs one action of a stack and prints what it returned. */
export async function runDo(
  action: string,
  o: DoOptions,
  logFormat: LogFormat,
  ctx: CliContext,
): Promise<void> {
  const format = parseOutputFormat(o.output);
  // Everything about the stack and its inputs is checked before the engine is touched.
  const prepared = await prepareFromCli(o, ctx);
  actionOf(prepared, action);
  const cache = { from: o.cacheFrom, to: o.cacheTo, names: cacheFlagNames };
  resolveCache(prepared.file, prepared.stack, cache);
  const silenceTimeoutMs = ctx.env.HLN_SILENCE_TIMEOUT
    ? parseDuration(ctx.env.HLN_SILENCE_TIMEOUT, "HLN_SILENCE_TIMEOUT")
    : undefined;

  const engine = await openFromCli(ctx);
  const progress = progressFor(logFormat, ctx);
  let failed = true;
  let run: { result: unknown; declared: string[] };
  try {
    run = await runAction(
      {
        engine,
        prepared,
        action,
        env: ctx.env,
        signal: ctx.signal,
        onStatus: (s) => progress.update(s),
        onWarning: (m) => ctx.stderr.write(`hln: warning: ${ctx.redactor.scrub(m)}\n`),
        redactor: ctx.redactor,
        cache,
        silenceTimeoutMs,
        ledger: ledgerFor(o, ctx, progress),
        faults: ctx.faults,
      },
      // Services are hln up's to build and deploy: hln do builds none of their images.
      async (r) => ({ result: r.result, declared: r.app.services.map((s) => s.name) }),
    );
    failed = false;
  } finally {
    engine.close();
    progress.end({ error: failed });
  }
  const n = run.declared.length;
  if (n > 0)
    ctx.stderr.write(
      `hln: warning: action "${action}" declared ${n} ${n === 1 ? "service" : "services"} (${run.declared.join(", ")}); hln up deploys them, hln do only builds\n`,
    );
  // A stack may return what a step printed; secrets in it are redacted like any output.
  ctx.stdout.write(ctx.redactor.scrub(formatData(run.result, format)));
}

/** Which stack the flags name: -s, --dir, --plan, or stack.ts in the working directory. */
export function stackFromFlags(
  o: Pick<DoOptions, "stack" | "dir" | "plan">,
  cwd = process.cwd(),
): StackRef {
  const given = [
    o.stack !== undefined && "-s",
    o.dir !== undefined && "--dir",
    o.plan !== undefined && "--plan",
  ].filter((f): f is string => f !== false);
  if (given.length > 1)
    throw new HlnError("E_USAGE", `${given.join(" and ")}: name the stack once`);
  if (o.stack !== undefined) return parseStackRef(o.stack, "-s");
  const dir = o.dir ?? o.plan;
  if (dir !== undefined) return { kind: "directory", path: dir };
  if (existsSync(resolve(cwd, "stack.ts"))) return { kind: "directory", path: "." };
  throw new HlnError(
    "E_USAGE",
    "do: no stack named, and no stack.ts here: pass -s NAME (see hln list stacks) or --dir DIR",
    { hint: "hln do --help" },
  );
}

/** Finds the stack the flags name and gathers its inputs, prompting under -i. */
export async function prepareFromCli(
  o: Pick<DoOptions, "stack" | "dir" | "plan" | "file" | "set" | "interactive"> & {
    /** Values under every -f file, e.g. the inputs `hln up APP` recorded for the app. */
    presets?: readonly ValuesFile[];
  },
  ctx: CliContext,
): Promise<PreparedStack> {
  const prepared = await prepareStack(stackFromFlags(o, ctx.cwd), {
    env: ctx.env,
    cwd: ctx.cwd,
    signal: ctx.signal,
    presets: o.presets,
    valuesFiles: o.file,
    sets: o.set,
    prompt: o.interactive
      ? createTerminalPrompter({ input: ctx.stdin ?? process.stdin, output: ctx.stderr })
      : undefined,
    onProgress: (line) => ctx.stderr.write(`hln: ${line}\n`),
  });
  // Secret inputs are redacted from everything printed from here on.
  for (const secret of Object.values(prepared.inputs.secrets))
    ctx.redactor.add(await secret.value());
  return prepared;
}
