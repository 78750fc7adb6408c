import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { HlnError, shownSetting } from "../../errors.js";
import { createDag } from "../../sdk/dag.js";
import { resolveCache } from "../../stack/cache-spec.js";
import { shownPath } from "../../stack/load-stack.js";
import { type PreparedStack, prepareStack } from "../../stack/prepare-stack.js";
import type { StackRef } from "../../stack/stack-ref.js";
import { parseStackRef } from "../../stack/stack-ref.js";
import { createTerminalPrompter } from "../../stack/terminal-prompt.js";
import { createProgress } from "../../ui/create-progress.js";
import type { CliContext } from "../context.js";
import { parseDuration } from "../duration.js";
import { actionError } from "../faults.js";
import { openFromCli } from "../open-engine.js";
import { formatData, parseOutputFormat } from "../output.js";
import { toPrintable } from "../printable.js";

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
  // Everything about the stack and its inputs is checked before the engine is touched.
  const prepared = await prepareFromCli(o, ctx);
  const { file, stack } = prepared;
  // Only the stack's own actions: `constructor` or `toString` are not actions.
  const run = Object.hasOwn(stack.actions, action) ? stack.actions[action] : undefined;
  if (typeof run !== "function") {
    const names = Object.keys(stack.actions).join(", ") || "none";
    throw new HlnError(
      "E_USAGE",
      `${shownPath(file)}: stack "${stack.name}" has no action "${action}" (actions: ${names})`,
    );
  }
  const inputs = prepared.inputs.values;
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
      (async () =>
        run({ dag, inputs: inputs as never, signal: ctx.signal, stackDirectory: dirname(file) }))(),
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

/** Which stack the flags name: -s, --dir, --plan, or stack.ts in the working directory. */
export function stackFromFlags(o: Pick<DoOptions, "stack" | "dir" | "plan">): StackRef {
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
  if (existsSync(resolve("stack.ts"))) return { kind: "directory", path: "." };
  throw new HlnError(
    "E_USAGE",
    "do: no stack named, and no stack.ts here: pass -s NAME (see hln list stacks) or --dir DIR",
    { hint: "hln do --help" },
  );
}

/** Finds the stack the flags name and gathers its inputs, prompting under -i. */
export async function prepareFromCli(
  o: Pick<DoOptions, "stack" | "dir" | "plan" | "file" | "set" | "interactive">,
  ctx: CliContext,
): Promise<PreparedStack> {
  const prepared = await prepareStack(stackFromFlags(o), {
    env: ctx.env,
    signal: ctx.signal,
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
    .option(
      "-s, --stack <stack>",
      "the stack: NAME[@VERSION] (bundled or cached), npm:PACKAGE[@RANGE], or a path",
    )
    .option("--dir <dir>", "a local stack: a directory holding stack.ts, or a stack file")
    .option("-p, --plan <dir>", "the same as --dir (Dagger 0.2's name for it)")
    .option(
      "-f, --file <values.yaml>",
      "input values: a YAML mapping of input names to values (repeatable, later wins)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--set <key=value>",
      "set an input; wins over values files (repeatable, last wins)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("-i, --interactive", "ask for required inputs still missing (secrets without echo)")
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
  hln do up -s hello
  hln do up -s hello --set greeting=bonjour --output json
  hln do up -s npm:@acme/shop@^1.2 -f values.yaml -f values.prod.yaml -i
  hln do up --dir ./my-stack --set rounds=40
  hln do up --dir . --cache-from type=registry,ref=registry.example/app:cache \\
    --cache-to type=registry,ref=registry.example/app:cache,mode=max
  hln --log-format plain do up --dir ./stack.ts

Inputs come from, lowest first: the stack's defaults, their declared environment
variables, each -f file, each --set, then -i prompts. A secret input is given as
env:VAR, file:PATH or command:CMD (or its declared variable, or a prompt), never as
a literal value.`,
    )
    .action(async (action: string, opts: DoOptions) => {
      await runDo(action, opts, logFormat(), ctx);
    });
}
