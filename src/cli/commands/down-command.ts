/**
 * `hln down`: its arguments, flags and help. What it does lives in down.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import type { DownHooks, DownOptions } from "./down.js";

/** `hooks` is how `hln down` runs the stack's own down action (see DownHooks). */
export function registerDown(program: Command, ctx: CliContext, hooks: DownHooks = {}): void {
  program
    .command("down")
    .description("remove an app: its containers, network, images and state; named volumes stay")
    .argument("<app>", "the app")
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option("--volumes", "remove the app's named volumes too, and the data in them")
    .option(
      "--no-wait",
      "fail at once when another hln holds the app's lock, instead of waiting for it",
    )
    .addHelpText(
      "after",
      `
Asks before removing unless -y. Named volumes (the app's data) are kept unless
--volumes; each kept one is named. While another hln holds the app's lock (an up of it,
say), down says who and waits for it, unless --no-wait.
On a swarm, down removes the app's services, then its secrets, then its overlay network,
which can take until the tasks have stopped on every node (down waits up to 30 s and
says so). Each node keeps its own copy of a volume its tasks mounted: --volumes removes
the manager's and names the other nodes that may hold one, to remove it there.

Examples:
  hln down shop
  hln down shop -y
  hln down shop -y --volumes
  hln down shop -y --no-wait                fail (exit 75) if another hln holds shop's lock`,
    )
    .action(async (app: string, opts: DownOptions) => {
      const { runDown } = await import("./down.js");
      await runDown(app, opts, ctx, hooks);
    });
}
