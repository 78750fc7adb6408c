/**
 * An app's status: what runs, from the engine's labels and an inspect of each container
 * (for the time it started), joined with the state file (stack, outputs, last deploy). A
 * service the state file knows and the engine does not is shown as missing.
 */
import type { DockerClient } from "../docker/client.js";
import { inspectContainer } from "../docker/containers.js";
import { labels } from "./names.js";
import { type ObservedContainer, observeApp } from "./observe.js";
import { recordedStatus } from "./recorded-status.js";
import { publishedAddress } from "./service-config.js";
import type { AppState } from "./state-store.js";
import { findSwarmApp } from "./swarm-app.js";
import { swarmAppStatus } from "./swarm-status.js";

export interface ServiceStatus {
  service: string;
  kind: "service" | "job";
  /** For people: "running", "running (healthy)", "starting", "unhealthy", "completed", "failed (exit 1)", "missing"... */
  state: string;
  /** False when the service is not doing what it should: failed, unhealthy, stopped, missing. */
  ok: boolean;
  image: string;
  /** "http://127.0.0.1:8080" for the usual HTTP ports, else "127.0.0.1:5432/tcp". */
  ports: string[];
  /** ISO time the container last started. */
  since?: string;
  /** On a swarm: tasks running, and how many the service wants (a job: completions). */
  replicas?: { running: number; desired: number };
  /** On a swarm, once the service was updated: "updating", "rolled back: <message>", ... */
  update?: string;
  /** On a swarm: the service's current task in each slot. */
  tasks?: TaskStatus[];
}

/** A swarm task as `hln status` shows it, under its service. */
export interface TaskStatus {
  /** `api.1`: the service and the task's slot (its node's hostname for a global service). */
  task: string;
  /** The hostname of the node it was given to; "" before the scheduler placed it. */
  node: string;
  /** Swarm's: new, pending, assigned, accepted, preparing, starting, running, complete, failed, shutdown, rejected, ... */
  state: string;
  /** What swarm wants of it: running, shutdown, ... */
  desired: string;
  /**
   * "healthy" for a running task of a service with a health check: swarm reports a task
   * running only once its check passed, and replaces one that fails it later.
   */
  health?: "healthy" | "starting";
  /** Swarm's error (e.g. "task: non-zero exit (1)"), else its message, when not plain. */
  message?: string;
  exitCode?: number;
  /** ISO time of its last state change. */
  since?: string;
  ok: boolean;
}

export interface AppStatus {
  app: string;
  /** "swarm" when the app runs as services of the swarm the engine manages. */
  target?: "swarm";
  stack?: { name: string; version: string; ref: string };
  services: ServiceStatus[];
  outputs?: unknown;
  /** `action` when the last record was no deploy: "rollback" (hln rollback, on a swarm). */
  lastDeploy?: { at: string; result: string; error?: string; action?: string };
  /** The app's named volumes (Docker's names): they outlive `hln down` unless --volumes. */
  volumes?: string[];
}

export async function appStatus(
  docker: DockerClient,
  app: string,
  state: AppState | undefined,
  signal?: AbortSignal,
): Promise<AppStatus> {
  const swarm = await findSwarmApp(docker, app, signal);
  if (swarm) return await swarmAppStatus(docker, swarm, state, signal);
  const observed = await observeApp(docker, app, signal);
  const current = currentContainers(observed.containers);
  const started = await Promise.all(
    current.map(async (c) => {
      const details = await inspectContainer(docker, c.id, signal);
      return startedAt(details?.State.StartedAt);
    }),
  );
  const stackLabel = current.find((c) => c.labels[labels.stack])?.labels[labels.stack];
  return {
    app,
    ...recordedStatus(
      current.map((c, i) => serviceStatus(c, started[i])),
      state,
      stackLabel,
    ),
    ...(observed.volumes.length > 0 ? { volumes: observed.volumes.map((v) => v.name) } : {}),
  };
}

/**
 * One container per service: the newest. During a recreate an old one can linger for a
 * moment beside its replacement; the replacement is what the service is now.
 */
export function currentContainers(containers: readonly ObservedContainer[]): ObservedContainer[] {
  const bySevice = new Map<string, ObservedContainer>();
  for (const c of containers) {
    const seen = bySevice.get(c.service);
    if (!seen || c.created > seen.created) bySevice.set(c.service, c);
  }
  return [...bySevice.values()].sort((a, b) => a.service.localeCompare(b.service));
}

/** Docker reports a container that never started as started at year 1. */
function startedAt(text: string | undefined): string | undefined {
  if (!text || text.startsWith("0001-")) return undefined;
  return text;
}

/** The status of one service from its container; pure. */
export function serviceStatus(c: ObservedContainer, since?: string): ServiceStatus {
  const { state, ok } = describeState(c);
  return {
    service: c.service,
    kind: c.kind,
    state,
    ok,
    image: c.image,
    ports: portAddresses(c.ports),
    ...(since === undefined ? {} : { since }),
  };
}

function describeState(c: ObservedContainer): { state: string; ok: boolean } {
  const exit = c.exitCode === undefined ? "" : ` (exit ${c.exitCode})`;
  switch (c.state) {
    case "running":
      if (c.health === "healthy") return { state: "running (healthy)", ok: true };
      if (c.health === "starting") return { state: "starting", ok: true };
      if (c.health === "unhealthy") return { state: "unhealthy", ok: false };
      return { state: "running", ok: true };
    case "exited":
      if (c.kind === "job")
        return c.exitCode === 0
          ? { state: "completed", ok: true }
          : { state: `failed${exit}`, ok: false };
      // A service is meant to keep running: any exit is a failure, a clean one included.
      return { state: `${c.exitCode === 0 ? "stopped" : "failed"}${exit}`, ok: false };
    case "created":
      // Never started: what it waited for failed, or an up was cut short.
      return { state: "not started", ok: false };
    case "restarting":
      return { state: "restarting", ok: false };
    default:
      return { state: c.state, ok: false };
  }
}

/**
 * The addresses a service's published ports are reached at. Docker lists a port bound on
 * all addresses twice (0.0.0.0 and ::); both are one address for people.
 */
export function portAddresses(ports: ObservedContainer["ports"]): string[] {
  return [...new Set(ports.map(publishedAddress))];
}
