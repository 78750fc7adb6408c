/**
 * Whether an app lives on a swarm: the engine manages one (its `/info` says so) and holds
 * the app's services or its overlay network there. `hln status`, `logs`, `down` and
 * `rollback` ask this first and take the swarm's path when it answers with the app.
 */
import type { DockerClient } from "../docker/client.js";
import { type ObservedSwarmApp, observeSwarmApp } from "./swarm-observe.js";
import { swarmRole } from "./target.js";

/** True when the engine is a manager of an active swarm: only a manager answers /services. */
export async function isSwarmManager(docker: DockerClient, signal?: AbortSignal): Promise<boolean> {
  return swarmRole(await docker.info({ signal })).role === "manager";
}

/**
 * The app as the swarm holds it, or undefined when the engine manages no swarm or the
 * swarm holds nothing of the app (an app deployed to the engine alone, beside the swarm).
 */
export async function findSwarmApp(
  docker: DockerClient,
  app: string,
  signal?: AbortSignal,
): Promise<ObservedSwarmApp | undefined> {
  if (!(await isSwarmManager(docker, signal))) return undefined;
  const observed = await observeSwarmApp(docker, app, signal);
  // Secrets are swarm objects only: an app down to its secrets is still the swarm's.
  if (observed.services.length > 0 || observed.secrets.length > 0) return observed;
  // A manager lists local networks too: hln-APP of an app deployed to the engine alone is
  // a bridge, and that app is no swarm app.
  if (observed.network && (await isSwarmNetwork(docker, observed.network.id, signal)))
    return observed;
  return undefined;
}

async function isSwarmNetwork(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const n = await docker
    .json<{ Scope?: string; Driver?: string }>("GET", `/networks/${encodeURIComponent(id)}`, {
      signal,
    })
    .catch(() => undefined);
  return n?.Scope === "swarm" || n?.Driver === "overlay";
}
