/**
 * hln's command line. Commands only parse flags and call library functions; failures
 * become one line and an exit code in one place (errors.ts).
 */
import { Command, CommanderError, Option } from "commander";
import { createScrubber } from "../buildkit/scrubber.js";
import { HlnError } from "../errors.js";
import { type LogFormat, parseLogFormat, registerDo } from "./commands/do.js";
import { registerEngine } from "./commands/engine.js";
import { hlnVersion, registerVersion } from "./commands/version.js";
import type { CliContext } from "./context.js";
import { reportError } from "./errors.js";
import { interruptSignal } from "./signals.js";

export async function main(
  argv: string[],
  base: Omit<CliContext, "signal" | "redactor"> = defaultContext(),
): Promise<number> {
  const interrupt = interruptSignal((s) => base.stderr.write(s));
  const ctx: CliContext = { ...base, signal: interrupt.signal, redactor: createScrubber() };
  const program = new Command("hln")
    .description("application stacks as code, built on BuildKit")
    .version(hlnVersion(), "-V, --version")
    .addOption(
      new Option("--log-format <format>", "progress output: auto, tty, plain, json or quiet")
        .default("auto")
        .env("HLN_LOG_FORMAT"),
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
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
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
    for (const [flag, variable] of tls) if (o[flag]) env[variable] = o[flag];
    ctx.env = env;
  });
  const logFormat = (): LogFormat =>
    parseLogFormat(program.opts<{ logFormat: string }>().logFormat);
  registerVersion(program, ctx);
  registerEngine(program, ctx);
  registerDo(program, ctx, logFormat);

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    const debug = program.opts<{ debug?: boolean }>().debug === true || !!ctx.env.HLN_DEBUG;
    return reportError(
      err instanceof Error || err instanceof HlnError ? err : new Error(String(err)),
      {
        debug,
        write: (s) => ctx.stderr.write(s),
      },
    );
  } finally {
    interrupt.dispose();
  }
}

function defaultContext(): Omit<CliContext, "signal" | "redactor"> {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => Date.now(),
  };
}
