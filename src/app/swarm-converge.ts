/**
 * Applies a swarm plan through a manager: the overlay network and the secrets first, then
 * each service as soon as what it depends on is ready (healthy tasks, a completed job), as
 * on one engine. An update is the swarm's own rolling update, start-first unless unsafe;
 * one whose new tasks never become healthy is rolled back by the swarm, and this run fails
 * with what the failed task said.
 */
import type { DockerClient } from "../docker/client.js";
import { createNetwork } from "../docker/networks.js";
import { createSecret, removeSecret } from "../docker/secrets.js";
import { createService, inspectService, removeService, updateService } from "../docker/services.js";
import { listTasks } from "../docker/tasks.js";
import { HlnError } from "../errors.js";
import { deployError } from "./deploy-error.js";
import { applyInDependencyOrder } from "./in-dependency-order.js";
import { labels, networkName } from "./names.js";
import type { DesiredService } from "./service-config.js";
import { type AwaitResult, awaitJob, awaitService } from "./swarm-gate.js";
import { observeSwarmApp } from "./swarm-observe.js";
import type { SwarmPlan, SwarmStep } from "./swarm-plan.js";
import { secretsOf, serviceSpec } from "./swarm-spec.js";
import { pause } from "./wait.js";

export interface SwarmConvergeOptions {
  docker: DockerClient;
  app: string;
  plan: SwarmPlan;
  desired: readonly DesiredService[];
  /** The network's ID when the plan does not create it. */
  networkId?: string;
  /** Secret name -> ID of those that exist. */
  secretIds: ReadonlyMap<string, string>;
  /** Labels every service gets besides hln's own, e.g. the stack's name and version. */
  extraLabels: Record<string, string>;
  /** Whether the swarm's routing mesh and service VIPs are used (see swarm-spec.ts). */
  mesh: boolean;
  /** The X-Registry-Auth value every node pulls with. */
  registryAuth?: string;
  signal?: AbortSignal;
  onEvent?: (service: string, message: string) => void;
  pollMs?: number;
}

export async function convergeSwarm(o: SwarmConvergeOptions): Promise<{ changes: string[] }> {
  const { docker, app, plan, signal } = o;
  const changes: string[] = [];
  const say = (service: string, message: string) => o.onEvent?.(service, message);
  let network = o.networkId ?? "";
  if (plan.createNetwork) {
    network = await createNetwork(
      docker,
      networkName(app),
      { [labels.app]: app },
      signal,
      "overlay",
    );
    changes.push(`create network ${networkName(app)}`);
  }
  const secretIds = new Map(o.secretIds);
  const made = new Set<string>();
  for (const d of o.desired)
    for (const s of secretsOf(app, d)) {
      if (secretIds.has(s.name) || made.has(s.name)) continue;
      made.add(s.name);
      const secret = d.spec.secrets.find((x) => x.path === s.path)?.secret;
      if (!secret) continue;
      const id = await createSecret(
        docker,
        s.name,
        await secret.value(),
        { [labels.app]: app, "dev.hln.secret-fingerprint": s.fingerprint },
        signal,
      );
      secretIds.set(s.name, id);
      changes.push(`create secret ${s.name}`);
    }
  // What is declared no more goes first: it may hold a published port a new service wants.
  for (const step of plan.steps)
    if (step.action === "remove") {
      say(step.service, "removing (no longer declared)");
      await removeService(docker, step.current.id, signal);
      changes.push(`remove ${step.service}`);
    }

  await applyInDependencyOrder(
    plan.steps,
    o.desired,
    (step, d) => apply(o, step, d, { network, secretIds }, changes),
    signal,
  );
  return { changes };
}

async function apply(
  o: SwarmConvergeOptions,
  step: SwarmStep,
  d: DesiredService,
  made: { network: string; secretIds: ReadonlyMap<string, string> },
  changes: string[],
): Promise<void> {
  const { docker, app, signal } = o;
  const name = d.spec.name;
  const job = d.spec.kind === "job";
  const say = (message: string) => o.onEvent?.(name, message);
  const spec = serviceSpec(app, d, {
    image: d.image.tag || d.image.id,
    network: made.network,
    secretIds: made.secretIds,
    extraLabels: o.extraLabels,
    mesh: o.mesh,
  });
  const wait = { signal, pollMs: o.pollMs, onEvent: say };
  let result: AwaitResult;
  if (step.action === "keep") {
    if (job) return;
    // Kept as it is, but what depends on it still waits for its tasks to run.
    result = await awaitService(docker, step.current.id, {
      ...wait,
      onEvent: undefined,
      before: step.current.details.UpdateStatus?.StartedAt,
    });
  } else if (
    step.action === "create" ||
    (step.action === "update" && step.current.kind !== d.spec.kind)
  ) {
    if (step.action === "update") {
      // A swarm never changes a service's mode in place: the old one goes, then the new.
      say(`replacing (${step.reasons.join(", ")})`);
      await removeService(docker, step.current.id, signal);
      await awaitGone(docker, step.current.id, signal);
    }
    const replicas = "Replicated" in spec.Mode ? spec.Mode.Replicated.Replicas : 1;
    say(
      job
        ? "running (new job)"
        : `creating (new service, ${replicas} replica${replicas === 1 ? "" : "s"})`,
    );
    let id: string;
    try {
      id = await createService(docker, spec, { registryAuth: o.registryAuth, signal });
    } catch (err) {
      throw deployError(name, err);
    }
    changes.push(
      step.action === "update" ? `replace ${name} (${step.reasons.join(", ")})` : `create ${name}`,
    );
    result = job
      ? await awaitJob(docker, id, wait)
      : await awaitService(docker, id, { ...wait, failFast: true });
  } else if (step.action === "update") {
    const why = step.reasons.join(", ");
    say(job ? `running again (${why})` : `updating ${step.order} (${why})`);
    const current = step.current.details;
    // A job runs again only when told to; so does a service whose last update paused.
    const force = job || step.rerun;
    const forceUpdate = (current.Spec.TaskTemplate.ForceUpdate ?? 0) + (force ? 1 : 0);
    spec.TaskTemplate.ForceUpdate = forceUpdate;
    try {
      await updateService(docker, current.ID, current.Version.Index, spec, {
        registryAuth: o.registryAuth,
        signal,
      });
    } catch (err) {
      throw deployError(name, err);
    }
    changes.push(`update ${name} (${why})`);
    result = job
      ? await awaitJob(docker, current.ID, wait)
      : await awaitService(docker, current.ID, {
          ...wait,
          before: current.UpdateStatus?.StartedAt,
        });
  } else return;
  if (result.outcome === "completed") {
    if (step.action !== "keep") say(job ? "completed" : "running");
    return;
  }
  const { hint } = result;
  const what =
    result.outcome === "rolled back"
      ? `service ${name}: the update was rolled back, the previous tasks keep serving`
      : result.outcome === "paused"
        ? `service ${name}: the update paused`
        : job
          ? `job ${name} failed`
          : `service ${name} failed as it started`;
  const task = result.failedTask;
  const why = task?.Status.Err || result.message;
  throw new HlnError("E_DEPLOY_FAILED", `${what}${why ? `: ${why}` : ""}`, hint ? { hint } : {});
}

/**
 * Removes the app's secrets that no service's current or previous spec names: a swarm
 * secret cannot change, so each new value left an old one behind. One a service still
 * holds (the engine refuses) stays for a later run.
 */
export async function removeUnusedSecrets(
  docker: DockerClient,
  app: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const now = await observeSwarmApp(docker, app, signal);
  const used = new Set(now.services.flatMap((s) => s.secretNames));
  const removed: string[] = [];
  for (const s of now.secrets) {
    if (used.has(s.name)) continue;
    try {
      await removeSecret(docker, s.id, signal);
      removed.push(s.name);
    } catch {
      // Still held by a task that is shutting down: the next run removes it.
    }
  }
  return removed;
}

/** Waits until a removed service's tasks are gone, so its name and ports are free again. */
async function awaitGone(docker: DockerClient, id: string, signal?: AbortSignal): Promise<void> {
  for (;;) {
    const [service, tasks] = await Promise.all([
      inspectService(docker, id, signal),
      listTasks(docker, { services: [id], signal }).catch(() => []),
    ]);
    if (!service && tasks.every((t) => t.Status.State !== "running")) return;
    await pause(250, signal);
  }
}
