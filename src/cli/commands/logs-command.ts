/**
 * `hln logs`: its arguments, flags and help. What it does lives in logs.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command("logs")
    .description("the logs of an app's services, one prefix and colour per service")
    .argument("<app>", "the app")
    .argument("[services...]", "only these services (default: all)")
    .option("-f, --follow", "keep printing new lines, across recreates, until Ctrl-C")
    .option(
      "--since <when>",
      "lines since a duration ago (10m, 2h) or a time (2026-12-02T10:00:00Z)",
    )
    .option("--tail <n>", "the last N lines of each service (default: all)")
    .addHelpText(
      "after",
      `
The lines of all services are merged in time order. With -f they come first, then new
lines as they come; a service that hln up recreates is followed into its new container,
Ctrl-C ends it (exit 0), and so does the app's removal.
On a swarm each line names the task and node it came from (api.1@node-a | ...): the
manager gathers every task's lines, from every node, those of tasks an update or a
restart starts later included.

Examples:
  hln logs shop
  hln logs shop api db --tail 50
  hln logs shop api -f --since 10m`,
    )
    .action(
      async (
        app: string,
        services: string[],
        opts: { follow?: boolean; since?: string; tail?: string },
      ) => {
        const { runLogs } = await import("./logs.js");
        await runLogs(app, services, opts, ctx);
      },
    );
}
