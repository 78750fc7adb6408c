/**
 * hln's command line. Commands only parse flags and call library functions; failures
 * become one line and an exit code in one place (errors.ts).
 */
import { setMaxListeners } from "node:events";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { appStateDirectory } from "../app/state-store.js";
import { createScrubber } from "../buildkit/scrubber.js";
import { HlnError } from "../errors.js";
import { registerDo } from "./commands/do-command.js";
import { registerDown } from "./commands/down-command.js";
import { registerEngine } from "./commands/engine-command.js";
import { registerInit } from "./commands/init-command.js";
import { registerList } from "./commands/list-command.js";
import { registerLogs } from "./commands/logs-command.js";
import { registerRollback } from "./commands/rollback-command.js";
import { registerShow } from "./commands/show-command.js";
import { registerStatus } from "./commands/status-command.js";
import { registerUp } from "./commands/up-command.js";
import { hlnVersion, registerVersion } from "./commands/version.js";
import type { CliContext } from "./context.js";
import { reportError } from "./errors.js";
import { faultError, watchFaults } from "./faults.js";
import { type LogFormat, parseLogFormat } from "./log-format.js";
import { cliSettingNamer } from "./setting-words.js";
import { interruptSignal } from "./signals.js";
import { commanderError } from "./usage-error.js";

/** What `cat` exits with when its reader goes away (128 + SIGPIPE), as under `set -o pipefail`. */
const closedOutputExit = 141;

/** What a caller that runs main in-process may add (tests). */
export interface MainOptions {
  /** Registers more commands beside hln's own, e.g. one that throws what a test gives it. */
  register?: (program: Command, ctx: CliContext) => void;
}

/**
 * Runs hln with `argv` (without the program name) and returns the exit code; nothing
 * here exits the process. `base` replaces the process's env, cwd and output streams.
 */
export async function main(
  argv: string[],
  base: Omit<CliContext, "signal" | "redactor" | "faults"> = defaultContext(),
  options: MainOptions = {},
): Promise<number> {
  const interrupt = interruptSignal((s) => base.stderr.write(s));
  const faults = watchFaults();
  // A reader that goes away (`hln ... | head -c1`) ends hln quietly, as it does `cat`:
  // the run is cancelled and nothing more is printed. Node reports it as an 'error'
  // event (EPIPE) that would otherwise crash with a stack trace.
  const outputClosed = new AbortController();
  const onOutputError = (err: NodeJS.ErrnoException) => {
    if (!outputClosed.signal.aborted) outputClosed.abort(err);
  };
  base.stdout.on("error", onOutputError);
  base.stderr.on("error", onOutputError);
  const quiet = (write: (s: string) => void) => (s: string) => {
    if (!outputClosed.signal.aborted) write(s);
  };
  const signal = AbortSignal.any([interrupt.signal, faults.signal, outputClosed.signal]);
  // Every request in flight listens for Ctrl-C on it, and a run makes dozens at once
  // (status of every app, converge's parallel services): that is no leak to warn about.
  setMaxListeners(0, signal);
  const ctx: CliContext = {
    ...base,
    signal,
    redactor: createScrubber(),
    faults,
    expectInterrupt: () => interrupt.expect(),
  };
  const program = new Command("hln")
    .description("application stacks as code, built on BuildKit")
    .version(hlnVersion(), "-V, --version")
    .addOption(
      // HLN_LOG_FORMAT is read from ctx.env below, not by commander, which reads process.env.
      new Option(
        "--log-format <format>",
        "progress output: auto, tty, plain, json or quiet (env: HLN_LOG_FORMAT)",
      ).default("auto"),
    )
    .option("--debug", "print stack traces with errors")
    .addOption(
      new Option(
        "--engine <address>",
        "BuildKit to use: tcp://HOST:PORT, unix:///PATH, docker-container://NAME[?context=CTX], or docker (default: BUILDKIT_HOST, else the Docker engine)",
      ),
    )
    .option("--tlscacert <file>", "CA certificate of a tcp:// BuildKit (BUILDKIT_TLS_CA)")
    .option("--tlscert <file>", "client certificate for a tcp:// BuildKit (BUILDKIT_TLS_CERT)")
    .option("--tlskey <file>", "client key for a tcp:// BuildKit (BUILDKIT_TLS_KEY)")
    .option("--tlsservername <name>", "server name to verify (BUILDKIT_TLS_SERVERNAME)")
    .option(
      "--tlsdir <dir>",
      "directory with ca.pem, cert.pem, key.pem (or ca.crt, tls.crt, tls.key) (BUILDKIT_TLS_DIR)",
    )
    .exitOverride()
    .configureOutput({
      writeOut: quiet((s) => ctx.stdout.write(s)),
      writeErr: quiet((s) => ctx.stderr.write(s)),
      // Usage errors become one line and a hint below, like every other error.
      outputError: () => {},
    });
  program.hook("preAction", () => {
    const o = program.opts<Record<string, string | undefined>>();
    ctx.engine = o.engine;
    // The flags win over the variables buildctl users already set.
    const tls: [string, string][] = [
      ["tlscacert", "BUILDKIT_TLS_CA"],
      ["tlscert", "BUILDKIT_TLS_CERT"],
      ["tlskey", "BUILDKIT_TLS_KEY"],
      ["tlsservername", "BUILDKIT_TLS_SERVERNAME"],
      ["tlsdir", "BUILDKIT_TLS_DIR"],
    ];
    const env = { ...ctx.env };
    const flags: Record<string, string> = {};
    for (const [flag, variable] of tls)
      if (o[flag]) {
        env[variable] = o[flag];
        flags[variable] = `--${flag}`;
      }
    ctx.env = env;
    ctx.tlsFlags = flags;
  });
  const logFormat = (): LogFormat => {
    const fromEnv =
      program.getOptionValueSource("logFormat") === "default" &&
      ctx.env.HLN_LOG_FORMAT !== undefined;
    return fromEnv
      ? parseLogFormat(ctx.env.HLN_LOG_FORMAT as string, "HLN_LOG_FORMAT")
      : parseLogFormat(program.opts<{ logFormat: string }>().logFormat, "--log-format");
  };
  registerVersion(program, ctx);
  registerEngine(program, ctx);
  registerUp(program, ctx, logFormat);
  registerDo(program, ctx, logFormat);
  registerInit(program, ctx);
  registerList(program, ctx);
  registerShow(program, ctx);
  registerStatus(program, ctx);
  registerLogs(program, ctx);
  registerRollback(program, ctx);
  registerDown(program, ctx, {
    beforeRemove: async (state) =>
      (await import("./commands/up.js")).runStackDown(
        state,
        state ? join(appStateDirectory(ctx.env, state.engine.id), `${state.app}.json`) : "",
        logFormat(),
        ctx,
      ),
  });
  options.register?.(program, ctx);

  const report = (err: unknown): number => {
    const debug = program.opts<{ debug?: boolean }>().debug === true || !!ctx.env.HLN_DEBUG;
    return reportError(err, {
      debug,
      write: quiet((s) => ctx.stderr.write(s)),
      scrub: (t) => ctx.redactor.scrub(t),
      names: cliSettingNamer({
        flags: new Set(argv.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]!)),
        env: ctx.env,
      }),
    });
  };
  let code: number;
  try {
    await program.parseAsync(argv, { from: "user" });
    code = 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; a command group without its subcommand printed its help.
      code =
        err.exitCode === 0
          ? 0
          : err.code === "commander.help"
            ? 2
            : report(commanderError(program, argv, err));
    } else if (faults.first && HlnError.from(err).code === "E_ABORTED") {
      // The work was cancelled because of the fault: the fault is what to report.
      code = report(faultError(faults.first));
    } else {
      code = report(err);
    }
  } finally {
    interrupt.dispose();
    faults.dispose();
  }
  // A pipe takes big writes in parts: a reader that left fails one of them later, and
  // bin/hln.js must not exit before a slow reader has it all.
  await Promise.all([flushed(ctx.stdout), flushed(ctx.stderr)]);
  if (outputClosed.signal.aborted) {
    const e = outputClosed.signal.reason as NodeJS.ErrnoException;
    return e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED" ? closedOutputExit : 74;
  }
  return code;
}

/** Resolves once what was written so far has left (or failed to leave) the process. */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write("", () => resolve());
    } catch {
      resolve();
    }
  });
}

function defaultContext(): Omit<CliContext, "signal" | "redactor" | "faults"> {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => Date.now(),
  };
}
