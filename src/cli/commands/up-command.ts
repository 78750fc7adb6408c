/**
 * `hln up`: its arguments, flags and help. What it does lives in up.ts, loaded only when
 * the command runs, so that other commands (and --help) start without it.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import type { LogFormat } from "../log-format.js";
import { cacheFlags, inputFlags, stackFlags } from "../stack-flags.js";
import type { UpOptions } from "./up.js";

export function registerUp(program: Command, ctx: CliContext, logFormat: () => LogFormat): void {
  const command = inputFlags(
    stackFlags(
      program
        .command("up")
        .description("build a stack's services and run them as an app on the Docker engine")
        .argument(
          "[app]",
          "the app's name (default: the stack's name); alone, reruns its last deploy",
        ),
    ),
  )
    .option("--dry-run", "build and print the plan; change nothing on the Docker engine")
    .option(
      "--target <target>",
      "docker (this engine) or swarm (the swarm it manages); default: swarm on a swarm manager",
    )
    .option(
      "--registry <registry>",
      "where a swarm's nodes pull images from: HOST[:PORT][/PREFIX], http://HOST:PORT without TLS (env HLN_REGISTRY)",
    )
    .option(
      "--no-mesh",
      "on a swarm: find services by DNS round robin and publish ports on the nodes that run them, for kernels without IPVS",
    )
    .option("--no-cache", "run every build step again instead of reusing the build cache")
    .option(
      "--no-wait",
      "fail at once when another hln holds the app's lock, instead of waiting for it",
    )
    .option("-o, --output <format>", "print the result as yaml or json instead of a summary");
  cacheFlags(command)
    .addHelpText(
      "after",
      `
Examples:
  hln up -s web-api-db                      deploy a bundled stack as app web-api-db
  hln up shop -s web-api-db --set port=9090 the same stack as app "shop"
  hln up shop --dry-run                     what a rerun would change, changing nothing
  hln up shop                               rerun shop's stack with its recorded inputs
  hln up --dir ./my-stack -f values.yaml -i
  hln up shop --no-wait                     fail (exit 75) if another hln is deploying shop
  DOCKER_HOST=ssh://ops@manager hln up shop -s web-api-db --registry registry.example.com/team
                                            deploy to a swarm: images pushed, pinned by digest

The plan printed before anything changes says, per service, create, recreate (and why),
keep or remove. Services start in dependency order, independent ones together; jobs run
to completion before what depends on them. Ports publish on 127.0.0.1 unless the stack
says otherwise. The Docker engine is DOCKER_HOST's (or the Docker context's), wherever
BUILDKIT_HOST builds. While another hln holds the app's lock (an up or down of the same
app), up says who (pid, command, since) and waits for it; a lock left by a process that
is gone is taken over, with a message.

On a swarm manager, up deploys to the swarm: each service a swarm service (replicas,
rolling start-first updates that roll back by themselves when the new tasks never become
healthy), secrets as swarm secrets, one overlay network. BuildKit pushes the images to
--registry, which every node must reach; the plan says what differs from one engine.
hln rollback APP returns services to their previous spec. The routing mesh and service
VIPs need IPVS in every node's kernel; --no-mesh does without them (remembered per app).`,
    )
    .action(
      async (app: string | undefined, opts: UpOptions & { cache?: boolean; mesh?: boolean }) => {
        // commander turns --no-cache into cache: false, and --no-mesh into mesh: false.
        const { runUp } = await import("./up.js");
        const { mesh, ...rest } = opts;
        await runUp(
          app,
          { ...rest, noCache: opts.cache === false, ...(mesh === false ? { mesh } : {}) },
          logFormat(),
          ctx,
        );
      },
    );
}
