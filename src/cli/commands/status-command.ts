/**
 * `hln status`: its arguments, flags and help. What it does lives in status.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description(
      "the services of an app (or of every app): state, health, image, ports, since; its outputs",
    )
    .argument("[app]", "the app (default: every app on the deploy engine)")
    .option("-o, --output <format>", "yaml or json (default: a table)")
    .addHelpText(
      "after",
      `
The deploy engine is the Docker engine of DOCKER_HOST, else the Docker context, else the
local socket. What runs is read from its labels, so this works from any machine that
reaches it; the stack, outputs and last deploy come from the state hln up kept.
A failed service is shown as failed and the command still exits 0: exit 2 means no such app.
On a swarm (the engine is a manager and holds the app's services), each service shows its
tasks running of those wanted and where its last update stands (updating, rolled back:
why), and under it the task in each slot: node, state, since, swarm's error. Swarm reports
a task running only once its health check passed, so running means healthy there.
--output json prints the app's status object (a list of them without APP):
  { "app", "target"?: "swarm", "stack"?: { "name", "version", "ref" }, "services": [{
    "service", "kind", "state", "ok", "image", "ports", "since"?, and on a swarm
    "replicas": { "running", "desired" }, "update"?, "tasks": [{ "task", "node", "state",
    "desired", "health"?, "message"?, "exitCode"?, "since"?, "ok" }] }], "outputs"?,
    "lastDeploy"?: { "at", "result", "error"? }, "volumes"?: [string] }

Examples:
  hln status
  hln status shop
  hln status shop --output json`,
    )
    .action(async (app: string | undefined, opts: { output?: string }) => {
      const { runStatus } = await import("./status.js");
      await runStatus(app, opts, ctx);
    });
}
