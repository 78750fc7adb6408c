/**
 * Takes an app off a swarm: its services (swarm then stops their tasks on every node),
 * its secrets, and its overlay network once no task is attached to it any more. Volumes
 * are made by each node that runs a task mounting one, so the manager can remove only its
 * own; those other nodes may hold are named, for removal there.
 */
import { type DockerClient, httpStatus } from "../docker/client.js";
import { removeNetwork } from "../docker/networks.js";
import { removeSecret } from "../docker/secrets.js";
import { removeService, type ServiceSpec } from "../docker/services.js";
import { listTasks } from "../docker/tasks.js";
import { listVolumes, removeVolume } from "../docker/volumes.js";
import { HlnError, throwIfAborted } from "../errors.js";
import { labels } from "./names.js";
import type { ObservedSwarmApp } from "./swarm-observe.js";
import { nodeHostnames } from "./swarm-status.js";

export interface RemovedSwarmApp {
  /** Swarm service names (hln-APP-SERVICE). */
  services: string[];
  secrets: string[];
  network?: string;
  /** The manager's volumes of the app. */
  removedVolumes: string[];
  keptVolumes: string[];
  /**
   * Volumes the app's tasks mount, by the other nodes that ran those tasks: each such
   * node made its own copy, which only that node's engine can remove.
   */
  elsewhere: { node: string; volumes: string[] }[];
}

export interface RemoveSwarmAppOptions {
  volumes: boolean;
  signal?: AbortSignal;
  /**
   * How long to wait for the tasks to stop before the network (and the volumes) can go.
   * Default 30 s: a task gets its stop grace period (10 s by default) and then some.
   */
  waitMs?: number;
  /** Told once, when the network is still in use and removal waits for the tasks to stop. */
  onWait?: (message: string) => void;
}

export async function removeSwarmApp(
  docker: DockerClient,
  observed: ObservedSwarmApp,
  o: RemoveSwarmAppOptions,
): Promise<RemovedSwarmApp> {
  const { signal } = o;
  const { app } = observed;
  // Where the tasks ran, read before the services (and with them their tasks) go.
  const ids = observed.services.map((s) => s.id);
  const [tasks, hostnames, info] = await Promise.all([
    ids.length > 0 ? listTasks(docker, { services: ids, signal }) : [],
    nodeHostnames(docker, signal),
    docker.info({ signal }),
  ]);
  const self = info.Swarm?.NodeID ?? "";
  const mounted = new Map<string, Set<string>>();
  for (const s of observed.services) {
    const names = volumeSources(s.details.Spec, s.details.PreviousSpec);
    if (names.length === 0) continue;
    for (const t of tasks)
      if (t.ServiceID === s.id && t.NodeID && t.NodeID !== self) {
        const set = mounted.get(t.NodeID) ?? new Set<string>();
        for (const n of names) set.add(n);
        mounted.set(t.NodeID, set);
      }
  }
  for (const s of observed.services) await removeService(docker, s.id, signal);
  throwIfAborted(signal);
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  let told = false;
  const wait = (what: string) => {
    if (!told) o.onWait?.(what);
    told = true;
  };
  for (const s of observed.secrets)
    await whileInUse(
      () => removeSecret(docker, s.id, signal),
      deadline,
      signal,
      () => wait(`secret ${s.name} is still used by a task that is stopping; waiting`),
    );
  if (observed.network) {
    const network = observed.network;
    await whileInUse(
      () => removeNetwork(docker, network.id, signal),
      deadline,
      signal,
      () =>
        wait(
          `network ${network.name} is still used by the app's tasks while they stop; waiting up to ${Math.round((o.waitMs ?? 30_000) / 1000)} s`,
        ),
    ).catch((err) => {
      throw new HlnError(
        "E_USAGE",
        `network ${network.name} of app ${app} is still in use after its services were removed: ${HlnError.from(err).message}`,
        { cause: err, hint: `hln down ${app} again removes it once its tasks are gone` },
      );
    });
  }
  const own = new Set<string>(
    (await listVolumes(docker, { labels: [`${labels.app}=${app}`], signal })).map((v) => v.Name),
  );
  // A volume a task made from a mount without labels is the app's by its name only.
  const named = [
    ...new Set(
      observed.services.flatMap((s) => volumeSources(s.details.Spec, s.details.PreviousSpec)),
    ),
  ];
  for (const n of named) if (!own.has(n) && (await volumeExists(docker, n, signal))) own.add(n);
  const volumes = [...own].sort();
  const removedVolumes: string[] = [];
  if (o.volumes)
    for (const v of volumes) {
      await whileInUse(
        () => removeVolume(docker, v, signal),
        deadline,
        signal,
        () => wait(`volume ${v} is still used by a task that is stopping; waiting`),
      );
      removedVolumes.push(v);
    }
  return {
    services: observed.services.map((s) => s.name),
    secrets: observed.secrets.map((s) => s.name),
    ...(observed.network ? { network: observed.network.name } : {}),
    removedVolumes,
    keptVolumes: o.volumes ? [] : volumes,
    elsewhere: [...mounted.entries()]
      .map(([node, names]) => ({
        node: hostnames.get(node) ?? node.slice(0, 12),
        volumes: [...names].sort(),
      }))
      .sort((a, b) => a.node.localeCompare(b.node)),
  };
}

/** The named volumes a service's current and previous spec mount. */
export function volumeSources(...specs: (ServiceSpec | undefined)[]): string[] {
  const names = specs.flatMap(
    (spec) =>
      spec?.TaskTemplate.ContainerSpec.Mounts?.filter((m) => m.Type === "volume" && m.Source).map(
        (m) => m.Source,
      ) ?? [],
  );
  return [...new Set(names)].sort();
}

async function volumeExists(
  docker: DockerClient,
  name: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await docker.json("GET", `/volumes/${encodeURIComponent(name)}`, { signal });
    return true;
  } catch (err) {
    if (httpStatus(err) === 404) return false;
    throw err;
  }
}

/**
 * Docker's answers while an object is still attached to a task that is stopping: "network
 * … has active endpoints" / "is in use by task …" for a network, "is in use by the
 * following service" for a secret, "volume is in use" for a volume.
 */
function isInUse(err: unknown): boolean {
  const status = httpStatus(err);
  if (status === undefined || status === 404) return false;
  return /in use|active endpoints/i.test((err as Error).message ?? "");
}

/** Runs `remove` until it stops failing for something still in use, or the deadline. */
async function whileInUse(
  remove: () => Promise<void>,
  deadline: number,
  signal: AbortSignal | undefined,
  onWait: () => void,
): Promise<void> {
  for (;;) {
    try {
      await remove();
      return;
    } catch (err) {
      if (!isInUse(err) || Date.now() >= deadline) throw err;
      onWait();
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, 500);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
    throwIfAborted(signal);
  }
}
