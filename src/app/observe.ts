/**
 * What runs of an app, read from the deploy engine's labels: the engine is the truth for
 * what runs, so this works from any machine that reaches it. One label-filtered list call
 * per kind of object; nothing is inspected here, so a caller pays only for what it asks.
 */
import { type DockerClient, httpStatus } from "../docker/client.js";
import { type ContainerSummary, listContainers } from "../docker/containers.js";
import { listNetworks } from "../docker/networks.js";
import { listServices } from "../docker/services.js";
import { listVolumes } from "../docker/volumes.js";
import { HlnError } from "../errors.js";
import { labels, networkName } from "./names.js";

export interface ObservedContainer {
  id: string;
  name: string;
  service: string;
  kind: "service" | "job";
  configHash: string;
  labels: Record<string, string>;
  /** Docker's: created | running | exited | restarting | paused | dead | removing */
  state: string;
  /** Parsed from Status: "(healthy)", "(health: starting)", "(unhealthy)". */
  health?: "starting" | "healthy" | "unhealthy";
  /** Parsed from Status: "Exited (1) 3 seconds ago". */
  exitCode?: number;
  imageId: string;
  image: string;
  /** Published ports only. */
  ports: { ip: string; host: number; container: number; protocol: string }[];
  /** Unix seconds. */
  created: number;
}

export interface ObservedApp {
  app: string;
  containers: ObservedContainer[];
  network?: { id: string; name: string };
  /** `name` is Docker's, `volume` the app's name for it (`app.volume("db-data")`). */
  volumes: { name: string; volume: string }[];
}

/** The container a list call returned, as hln reads it; pure. */
export function observedContainer(c: ContainerSummary): ObservedContainer {
  const own = c.Labels ?? {};
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status ?? "")?.[1];
  const exit = /^Exited \((-?\d+)\)/.exec(c.Status ?? "")?.[1];
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? "").replace(/^\//, ""),
    service: own[labels.service] ?? "",
    kind: own[labels.kind] === "job" ? "job" : "service",
    configHash: own[labels.configHash] ?? "",
    labels: own,
    state: c.State,
    ...(health === undefined
      ? {}
      : { health: health === "health: starting" ? "starting" : (health as "healthy") }),
    ...(exit === undefined ? {} : { exitCode: Number(exit) }),
    imageId: c.ImageID,
    image: c.Image,
    ports: (c.Ports ?? [])
      .filter((p) => p.PublicPort !== undefined)
      .map((p) => ({
        ip: p.IP ?? "",
        host: p.PublicPort!,
        container: p.PrivatePort,
        protocol: p.Type,
      })),
    created: c.Created,
  };
}

export async function observeApp(
  docker: DockerClient,
  app: string,
  signal?: AbortSignal,
): Promise<ObservedApp> {
  const filter = [`${labels.app}=${app}`];
  const [containers, networks, volumes] = await Promise.all([
    listContainers(docker, { labels: filter, all: true, signal }),
    listNetworks(docker, { labels: filter, signal }),
    listVolumes(docker, { labels: filter, signal }),
  ]);
  // Only hln-APP is the app's; another network carrying the label is someone's copy.
  const network = networks.find((n) => n.Name === networkName(app)) ?? networks[0];
  return {
    app,
    containers: containers
      .map(observedContainer)
      .filter((c) => c.service !== "")
      .sort((a, b) => a.service.localeCompare(b.service) || b.created - a.created),
    ...(network ? { network: { id: network.Id, name: network.Name } } : {}),
    volumes: volumes
      .map((v) => ({ name: v.Name, volume: v.Labels?.[labels.volume] ?? v.Name }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** True when the engine holds nothing of the app. */
export function isEmptyApp(observed: ObservedApp): boolean {
  return (
    observed.containers.length === 0 &&
    observed.network === undefined &&
    observed.volumes.length === 0
  );
}

/**
 * The apps on the engine: distinct dev.hln.app labels over containers, networks, volumes
 * and, on a swarm manager, services; sorted.
 */
export async function deployedApps(docker: DockerClient, signal?: AbortSignal): Promise<string[]> {
  const filter = [labels.app];
  const [containers, networks, volumes, services] = await Promise.all([
    listContainers(docker, { labels: filter, all: true, signal }),
    listNetworks(docker, { labels: filter, signal }),
    listVolumes(docker, { labels: filter, signal }),
    // Only a swarm manager answers /services; other engines say 503.
    listServices(docker, { labels: filter, signal }).catch((err) => {
      if (httpStatus(err) === 503) return [];
      throw err;
    }),
  ]);
  const apps = new Set<string>();
  for (const o of [...containers, ...networks, ...volumes, ...services.map((s) => s.Spec)]) {
    const app = o.Labels?.[labels.app];
    if (app) apps.add(app);
  }
  return [...apps].sort();
}

/** E_USAGE: `app "shopp" does not exist on ENDPOINT (apps: a, b)` or `(no apps)`. */
export function unknownApp(app: string, endpoint: string, apps: readonly string[]): HlnError {
  const known = apps.length === 0 ? "no apps" : `apps: ${apps.join(", ")}`;
  return new HlnError("E_USAGE", `app "${app}" does not exist on ${endpoint} (${known})`);
}
