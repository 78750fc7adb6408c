import { dirname } from "node:path";
import type { Command } from "commander";
import { HlnError, shownSetting } from "../../errors.js";
import { createDag } from "../../sdk/dag.js";
import { resolveCache } from "../../stack/cache-spec.js";
import { resolveInputs } from "../../stack/inputs.js";
import { loadStack, shownPath } from "../../stack/load-stack.js";
import { createProgress } from "../../ui/create-progress.js";
import type { CliContext } from "../context.js";
import { parseDuration } from "../duration.js";
import { actionError } from "../faults.js";
import { openFromCli } from "../open-engine.js";
import { formatData, parseOutputFormat } from "../output.js";
import { toPrintable } from "../printable.js";

export interface DoOptions {
  plan: string;
  set: string[];
  output: string;
  cacheTo: string[];
  cacheFrom: string[];
}

export type LogFormat = "auto" | "tty" | "plain" | "json" | "quiet";

/** `from` is where the value came from: the flag, or HLN_LOG_FORMAT. */
export function parseLogFormat(value: string, from = "--log-format"): LogFormat {
  if (["auto", "tty", "plain", "json", "quiet"].includes(value)) return value as LogFormat;
  throw new HlnError(
    "E_USAGE",
    `${shownSetting(from, value)}: expected auto, tty, plain, json or quiet`,
  );
}

/** Runs one action of a stack and prints what it returned. */
export async function runDo(
  action: string,
  o: DoOptions,
  logFormat: LogFormat,
  ctx: CliContext,
): Promise<void> {
  const format = parseOutputFormat(o.output);
  // Everything about the stack is checked before the engine is touched.
  const { file, stack } = await loadStack(o.plan);
  // Only the stack's own actions: `constructor` or `toString` are not actions.
  const run = Object.hasOwn(stack.actions, action) ? stack.actions[action] : undefined;
  if (typeof run !== "function") {
    const names = Object.keys(stack.actions).join(", ") || "none";
    throw new HlnError(
      "E_USAGE",
      `${shownPath(file)}: stack "${stack.name}" has no action "${action}" (actions: ${names})`,
    );
  }
  const inputs = resolveInputs(stack.inputs ?? {}, o.set, stack.name);
  const cache = resolveCache(file, stack, { from: o.cacheFrom, to: o.cacheTo });
  const silenceTimeoutMs = ctx.env.HLN_SILENCE_TIMEOUT
    ? parseDuration(ctx.env.HLN_SILENCE_TIMEOUT, "HLN_SILENCE_TIMEOUT")
    : undefined;

  const engine = await openFromCli(ctx);
  const progress = createProgress({
    mode: logFormat,
    stream: ctx.stderr,
    env: ctx.env,
    now: ctx.now,
    isTTY: ctx.stderr.isTTY === true,
    scrub: (t) => ctx.redactor.scrub(t),
  });
  const dag = createDag({
    connection: engine.buildkit,
    onStatus: (s) => progress.update(s),
    signal: ctx.signal,
    env: ctx.env,
    redactor: ctx.redactor,
    docker: engine,
    cache,
    onWarning: (m) => ctx.stderr.write(`hln: warning: ${ctx.redactor.scrub(m)}\n`),
    silenceTimeoutMs,
    stackDirectory: dirname(file),
  });
  const where = `${shownPath(file)}: action "${action}"`;
  let printable: unknown;
  let failed = true;
  try {
    // A fault (a throw from the stack's timer, a promise it left failing, a promise that
    // can never settle) ends the action too, instead of a stack trace or exit 13.
    const result = await Promise.race([
      (async () => run({ dag, inputs: inputs as never, signal: ctx.signal, stackDirectory: dirname(file) }))(),
      ctx.faults.fault,
      // Ctrl-C ends the run even while the action awaits something of its own.
      aborted(ctx.signal),
    ]);
    // Work the action left running is waited for before the run counts as done.
    await dag.close();
    if (ctx.faults.first) throw ctx.faults.first;
    printable = printableResult(result, where);
    failed = false;
  } catch (err) {
    throw actionError(err, where);
  } finally {
    if (failed) await dag.close({ exportCache: false, settle: false });
    engine.close();
    progress.end({ error: failed });
  }
  // A stack may return what a step printed; secrets in it are redacted like any output.
  ctx.stdout.write(ctx.redactor.scrub(formatData(printable, format)));
}

/** Rejects with E_ABORTED once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    const fail = () => reject(new HlnError("E_ABORTED", "cancelled", { cause: signal.reason }));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

function printableResult(result: unknown, where: string): unknown {
  try {
    return toPrintable(result);
  } catch (err) {
    const e = HlnError.from(err);
    throw new HlnError(e.code, `${where} returned ${e.message}`, { hint: e.hint });
  }
}

export function registerDo(program: Command, ctx: CliContext, logFormat: () => LogFormat): void {
  program
    .command("do")
    .description("run one action of a stack")
    .argument("<action>", "the action to run, e.g. up")
    .requiredOption("-p, --plan <path>", "the stack: a .ts file, or a directory with stack.ts")
    .option(
      "-s, --set <key=value>",
      "set an input (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("-o, --output <format>", "how to print the action's result: yaml or json", "yaml")
    .option(
      "--cache-to <entry>",
      "export build cache, e.g. type=registry,ref=host/app:cache,mode=max (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--cache-from <entry>",
      "import build cache, e.g. type=registry,ref=host/app:cache (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addHelpText(
      "after",
      `
Examples:
  hln do up --plan examples/hello
  hln do up --plan examples/hello --set greeting=bonjour --output json
  hln do up --plan . --cache-from type=registry,ref=registry.example/app:cache \\
    --cache-to type=registry,ref=registry.example/app:cache,mode=max
  hln --log-format plain do up --plan ./stack.ts`,
    )
    .action(async (action: string, opts: DoOptions) => {
      await runDo(action, opts, logFormat(), ctx);
    });
}
