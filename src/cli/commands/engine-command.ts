/**
 * `hln engine` and its subcommands: arguments, flags and help. What they do lives in
 * engine.ts, loaded only when one runs.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerEngine(program: Command, ctx: CliContext): void {
  const engine = program
    .command("engine")
    .description("inspect and maintain the build engine")
    .addHelpText(
      "after",
      `
The engine is the BuildKit hln builds on, chosen in this order: the --engine flag, then
BUILDKIT_HOST (tcp://HOST:PORT, unix:///PATH, docker-container://NAME[?context=CTX]),
then the built-in BuildKit of the Docker engine named by DOCKER_HOST (unix://, tcp://,
ssh://USER@HOST), else the current Docker context, else unix:///var/run/docker.sock.
TLS for tcp:// follows buildctl: --tlscacert/--tlscert/--tlskey/--tlsservername/--tlsdir,
or BUILDKIT_TLS_CA, _CERT, _KEY, _SERVERNAME, _DIR.

Examples:
  BUILDKIT_HOST=tcp://127.0.0.1:1234 hln engine info
  DOCKER_HOST=ssh://root@build-host BUILDKIT_HOST=docker-container://buildkitd hln engine info
  hln --engine tcp://buildkit:1234 --tlsdir ./certs engine info`,
    );

  engine
    .command("info")
    .description("show which engine hln uses, why, and what it can do")
    .option("-o, --output <format>", "yaml or json (default: a table)")
    .addHelpText(
      "after",
      "\nExamples:\n  hln engine info\n  DOCKER_HOST=unix:///run/other.sock hln engine info --output json",
    )
    .action(async (opts: { output?: string }) => {
      const { runEngineInfo } = await import("./engine.js");
      await runEngineInfo(opts, ctx);
    });

  engine
    .command("du")
    .description("show the engine's build cache usage")
    .option("-v, --verbose", "list every cache record")
    .option("-o, --output <format>", "yaml or json")
    .action(async (opts: { verbose?: boolean; output?: string }) => {
      const { runEngineDu } = await import("./engine.js");
      await runEngineDu(opts, ctx);
    });

  engine
    .command("prune")
    .description("remove build cache")
    .option("-a, --all", "remove all unused cache, not only dangling records")
    .option("--keep-duration <duration>", "keep cache used within this time (e.g. 24h, 7d)")
    .addHelpText(
      "after",
      "\nExamples:\n  hln engine prune\n  hln engine prune --all --keep-duration 24h",
    )
    .action(async (opts: { all?: boolean; keepDuration?: string }) => {
      const { runEnginePrune } = await import("./engine.js");
      await runEnginePrune(opts, ctx);
    });
}
