/**
 * `hln rollback`: its arguments, flags and help. What it does lives in rollback.ts, loaded
 * only when the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import type { RollbackCliOptions } from "./rollback.js";

export function registerRollback(program: Command, ctx: CliContext): void {
  program
    .command("rollback")
    .description("put an app's swarm services back to the spec each had before its last update")
    .argument("<app>", "the app")
    .argument("[service]", "only this service (default: every service with a previous spec)")
    .option(
      "--no-wait",
      "fail at once when another hln holds the app's lock, instead of waiting for it",
    )
    .option("-o, --output <format>", "print the result as yaml or json instead of lines")
    .addHelpText(
      "after",
      `
A swarm keeps each service's spec from before its last update; rollback asks the swarm to
go back to it, waits until the tasks run it, and prints per service what changed back
(image, env, secrets, ...). The swarm keeps one previous spec, and a rollback swaps it
with the current one, so a service whose last change was already a rollback (by hln or
by the swarm after a failed update) is left as it is, as is one never updated, and jobs.
Naming such a service is an error (exit 2). The app's lock is held meanwhile, and the
rollback is added to the app's history (hln status shows it as the last deploy).
On a single Docker engine there is no previous spec: deploy the previous inputs again
with hln up (exit 2 says so).
--output json prints a list of { "service", "outcome": "rolled back" | "paused" |
"failed" | "skipped", "reasons": [string], "message" }; a paused or failed rollback
exits 1.

Examples:
  hln rollback shop                        every service of shop that has a previous spec
  hln rollback shop api                    only api
  hln rollback shop --no-wait              fail (exit 75) if another hln holds shop's lock`,
    )
    .action(async (app: string, service: string | undefined, opts: RollbackCliOptions) => {
      const { runRollback } = await import("./rollback.js");
      await runRollback(app, service, opts, ctx);
    });
}
