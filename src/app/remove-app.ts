/**
 * Takes an app off its engine: its containers (stopped first, so each process gets its
 * grace period), its network and the image tags hln made for it. Named volumes hold the
 * app's data and stay unless asked for, as with `docker compose down` without `-v`.
 * An app on a swarm goes through swarm-remove.ts.
 */
import { type DockerClient, httpStatus } from "../docker/client.js";
import { removeContainer, stopContainer } from "../docker/containers.js";
import { listImages, untagImage } from "../docker/images.js";
import { removeNetwork } from "../docker/networks.js";
import { removeVolume } from "../docker/volumes.js";
import { HlnError, throwIfAborted } from "../errors.js";
import { pruneSwarmImages } from "./build-images.js";
import { imagesOf } from "./names.js";
import { observeApp } from "./observe.js";
import { findSwarmApp } from "./swarm-app.js";
import { type RemovedSwarmApp, removeSwarmApp } from "./swarm-remove.js";
import { pause } from "./wait.js";

export interface RemovedApp {
  /** Container names. */
  containers: string[];
  network?: string;
  /** Image tags removed (`hln/APP/SERVICE:abc123def456`). */
  images: string[];
  /** Docker's volume names. */
  removedVolumes: string[];
  keptVolumes: string[];
  /** On a swarm: what `removeSwarmApp` removed and found (the containers list is empty). */
  swarm?: RemovedSwarmApp;
}

/** Docker's own default grace period before SIGKILL, as `docker stop` has it. */
const stopTimeoutS = 10;

export async function removeApp(
  docker: DockerClient,
  app: string,
  options: { volumes: boolean; signal?: AbortSignal; onWait?: (message: string) => void },
): Promise<RemovedApp> {
  const { signal } = options;
  const swarm = await findSwarmApp(docker, app, signal);
  if (swarm) {
    const removed = await removeSwarmApp(docker, swarm, options);
    // The images this node pulled for the app's tasks, and any a registry-less deploy
    // stored: each goes once the swarm has removed the stopped tasks' containers.
    const images: string[] = [];
    const until = Date.now() + 20_000;
    for (;;) {
      const { removed: gone, inUse } = await pruneSwarmImages(docker, app, new Set(), signal);
      images.push(...gone);
      if (inUse.length === 0 || Date.now() > until) break;
      await pause(500, signal);
    }
    return {
      containers: [],
      ...(removed.network ? { network: removed.network } : {}),
      images,
      removedVolumes: removed.removedVolumes,
      keptVolumes: removed.keptVolumes,
      swarm: removed,
    };
  }
  const observed = await observeApp(docker, app, signal);
  await Promise.all(
    observed.containers.map(async (c) => {
      if (c.state === "running" || c.state === "restarting" || c.state === "paused")
        await stopContainer(docker, c.id, { timeoutS: stopTimeoutS, signal });
      throwIfAborted(signal);
      // force: a container whose restart policy brought it back after the stop still goes.
      await removeContainer(docker, c.id, { force: true, signal });
    }),
  );
  // The network can go only once no container is attached to it.
  if (observed.network) await removeAppNetwork(docker, app, observed.network, signal);
  const images = await appImageTags(docker, app, signal);
  for (const tag of images) await untagImage(docker, tag, signal);
  const removedVolumes: string[] = [];
  if (options.volumes)
    for (const v of observed.volumes) {
      await removeVolume(docker, v.name, signal);
      removedVolumes.push(v.name);
    }
  return {
    containers: observed.containers.map((c) => c.name),
    ...(observed.network ? { network: observed.network.name } : {}),
    images,
    removedVolumes,
    keptVolumes: options.volumes ? [] : observed.volumes.map((v) => v.name),
  };
}

/** The tags hln gave images it built for the app: `hln/APP/SERVICE:<12 hex>`. */
async function appImageTags(
  docker: DockerClient,
  app: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const images = await listImages(docker, { reference: imagesOf(app), signal });
  const prefix = `hln/${app}/`;
  // Docker's pattern also matches deeper names (hln/APP/x/y) that hln never makes.
  return images
    .flatMap((i) => i.RepoTags ?? [])
    .filter((t) => t.startsWith(prefix) && !t.slice(prefix.length).includes("/"))
    .sort();
}

/**
 * Removes the app's network. A container hln did not make (the user attached it) keeps it
 * in use: Docker refuses with 403, and hln names that container instead of guessing
 * whether it may be disconnected.
 */
async function removeAppNetwork(
  docker: DockerClient,
  app: string,
  network: { id: string; name: string },
  signal?: AbortSignal,
): Promise<void> {
  try {
    await removeNetwork(docker, network.id, signal);
  } catch (err) {
    if (httpStatus(err) !== 403) throw err;
    const inspected = await docker
      .json<{ Containers?: Record<string, { Name?: string }> | null }>(
        "GET",
        `/networks/${encodeURIComponent(network.id)}`,
        { signal },
      )
      .catch(() => undefined);
    const users = Object.entries(inspected?.Containers ?? {}).map(
      ([id, c]) => c.Name || id.slice(0, 12),
    );
    const who = users.length > 0 ? `container ${users.join(", ")}` : "a container";
    throw new HlnError(
      "E_USAGE",
      `network ${network.name} is still used by ${who}, which is not part of app ${app}: disconnect it (docker network disconnect ${network.name} ${users[0] ?? "CONTAINER"}) and run hln down ${app} again`,
      { cause: err },
    );
  }
}
