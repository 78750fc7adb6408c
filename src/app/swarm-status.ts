/**
 * An app's status on a swarm: one row per service (tasks running of those wanted, and
 * where its last update stands), and under it the task in each slot, on its node. A
 * task's container, and so its health, is visible only on its node; what the manager
 * knows is the task's state, which for a service with a health check says enough: swarm
 * reports a task running only once its check passed, and replaces one that fails later.
 */
import type { DockerClient } from "../docker/client.js";
import type { ServiceDetails } from "../docker/services.js";
import { listNodes, listTasks, type TaskDetails } from "../docker/tasks.js";
import { listVolumes } from "../docker/volumes.js";
import { labels } from "./names.js";
import { recordedStatus } from "./recorded-status.js";
import { publishedAddress } from "./service-config.js";
import type { AppState } from "./state-store.js";
import type { AppStatus, ServiceStatus, TaskStatus } from "./status.js";
import type { ObservedSwarmApp } from "./swarm-observe.js";

export async function swarmAppStatus(
  docker: DockerClient,
  observed: ObservedSwarmApp,
  state: AppState | undefined,
  signal?: AbortSignal,
): Promise<AppStatus> {
  const ids = observed.services.map((s) => s.id);
  const [tasks, hostnames, volumes] = await Promise.all([
    ids.length > 0 ? listTasks(docker, { services: ids, signal }) : [],
    nodeHostnames(docker, signal),
    listVolumes(docker, { labels: [`${labels.app}=${observed.app}`], signal }),
  ]);
  const stackLabel = observed.services.find((s) => s.labels[labels.stack])?.labels[labels.stack];
  return {
    app: observed.app,
    target: "swarm",
    ...recordedStatus(
      observed.services.map((s) =>
        swarmServiceStatus(
          s.details,
          tasks.filter((t) => t.ServiceID === s.id),
          hostnames,
        ),
      ),
      state,
      stackLabel,
    ),
    ...(volumes.length > 0 ? { volumes: volumes.map((v) => v.Name).sort() } : {}),
  };
}

/** Node ID → hostname, for every node of the swarm (see nodeNames). */
export async function nodeHostnames(
  docker: DockerClient,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  return nodeNames(await listNodes(docker, signal));
}

/**
 * Node ID → the name hln shows for the node: its hostname, and where two nodes share one
 * (machines cloned from one image; the test swarm's two nodes are both "vm") the start
 * of its ID too, `vm(oxq725)`, so that a task's node is still told apart. Pure.
 */
export function nodeNames(
  nodes: readonly { ID: string; Description?: { Hostname?: string } }[],
): Map<string, string> {
  const count = new Map<string, number>();
  for (const n of nodes) {
    const h = n.Description?.Hostname ?? "";
    count.set(h, (count.get(h) ?? 0) + 1);
  }
  return new Map(
    nodes.map((n) => {
      const h = n.Description?.Hostname ?? "";
      const short = n.ID.slice(0, 6);
      return [n.ID, !h ? n.ID.slice(0, 12) : (count.get(h) ?? 0) > 1 ? `${h}(${short})` : h];
    }),
  );
}

/** What swarm wants of tasks that no longer count: scaled away or left by a gone node. */
const retired = new Set(["remove", "orphaned"]);

/**
 * The task that is each slot now: the newest one per slot (per node for a global
 * service), newest first in each returned pair's `history`. Swarm keeps a few old tasks
 * per slot (the ones an update or a failure replaced) beside the current one.
 */
export function currentTasks(
  tasks: readonly TaskDetails[],
): { task: TaskDetails; history: TaskDetails[] }[] {
  const bySlot = new Map<string, TaskDetails[]>();
  for (const t of tasks) {
    const key = t.Slot !== undefined && t.Slot > 0 ? `slot ${t.Slot}` : `node ${t.NodeID ?? t.ID}`;
    bySlot.set(key, [...(bySlot.get(key) ?? []), t]);
  }
  const out: { task: TaskDetails; history: TaskDetails[] }[] = [];
  for (const all of bySlot.values()) {
    const [task, ...history] = [...all].sort(
      (a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt),
    );
    if (task && !retired.has(task.DesiredState)) out.push({ task, history });
  }
  return out.sort(
    (a, b) =>
      (a.task.Slot ?? 0) - (b.task.Slot ?? 0) ||
      (a.task.NodeID ?? "").localeCompare(b.task.NodeID ?? ""),
  );
}

/** `api.1` for a slot, `api@node-a` for a task without one (a global service's, a job's). */
export function taskName(service: string, t: TaskDetails, hostnames: Map<string, string>): string {
  if (t.Slot !== undefined && t.Slot > 0) return `${service}.${t.Slot}`;
  return `${service}@${hostnames.get(t.NodeID ?? "") ?? (t.NodeID ?? "").slice(0, 12)}`;
}

function hasHealthcheck(s: ServiceDetails): boolean {
  const test = s.Spec.TaskTemplate.ContainerSpec.Healthcheck?.Test;
  return test !== undefined && test.length > 0 && test[0] !== "NONE";
}

/** Task states on the way to running. */
const startingStates = new Set([
  "new",
  "allocated",
  "pending",
  "assigned",
  "accepted",
  "ready",
  "preparing",
  "starting",
]);
const failedStates = new Set(["failed", "rejected", "orphaned"]);

/** One task as `hln status` shows it; pure. */
export function taskStatus(
  service: string,
  t: TaskDetails,
  hostnames: Map<string, string>,
  healthcheck: boolean,
): TaskStatus {
  const state = t.Status.State;
  const exit = t.Status.ContainerStatus?.ExitCode;
  // "started", "finished", "scheduler assigned task to node" say nothing the state does not.
  const telling = failedStates.has(state) || state === "pending" || state === "shutdown";
  const message = t.Status.Err || (telling ? t.Status.Message : undefined);
  const health =
    healthcheck && state === "running"
      ? "healthy"
      : healthcheck && state === "starting"
        ? "starting"
        : undefined;
  return {
    task: taskName(service, t, hostnames),
    node: t.NodeID ? (hostnames.get(t.NodeID) ?? t.NodeID.slice(0, 12)) : "",
    state,
    desired: t.DesiredState,
    ...(health ? { health } : {}),
    ...(message ? { message } : {}),
    ...(exit !== undefined && (state === "failed" || state === "complete")
      ? { exitCode: exit }
      : {}),
    ...(t.Status.Timestamp ? { since: t.Status.Timestamp } : {}),
    // A task that stops while swarm wants it running has failed, whatever its state says.
    ok:
      !failedStates.has(state) &&
      !(state === "shutdown" && t.DesiredState === "running") &&
      !(state === "complete" && exit !== undefined && exit !== 0),
  };
}

/** Where the service's last update stands, for people; undefined once it simply completed. */
export function updateState(s: ServiceDetails): { text: string; ok: boolean } | undefined {
  const u = s.UpdateStatus;
  if (!u?.State || u.State === "completed") return undefined;
  const word: Record<string, string> = {
    updating: "updating",
    paused: "update paused",
    rollback_started: "rolling back",
    rollback_paused: "rollback paused",
    rollback_completed: "rolled back",
  };
  const text = `${word[u.State] ?? u.State}${u.Message ? `: ${u.Message}` : ""}`;
  // A paused update waits for a person: neither the new spec nor the old one runs in full.
  return { text, ok: u.State !== "paused" && u.State !== "rollback_paused" };
}

/** The status of one swarm service from its details and tasks; pure. */
export function swarmServiceStatus(
  s: ServiceDetails,
  tasks: readonly TaskDetails[],
  hostnames: Map<string, string>,
): ServiceStatus {
  const own = s.Spec.Labels ?? {};
  const service = own[labels.service] ?? s.Spec.Name;
  const kind = own[labels.kind] === "job" ? "job" : "service";
  const healthcheck = hasHealthcheck(s);
  // A job's tasks have no slot; each run of it (hln up runs it again) is an iteration, and
  // only the current one's tasks say how the job is (swarm omits an Index of 0).
  const iteration = s.JobStatus?.JobIteration.Index ?? 0;
  const current = currentTasks(
    kind === "job" ? tasks.filter((t) => (t.JobIteration?.Index ?? 0) === iteration) : tasks,
  );
  const shown = current.map(({ task }) => taskStatus(service, task, hostnames, healthcheck));
  const mode = s.Spec.Mode;
  const running = shown.filter((t) => t.state === "running").length;
  const desired =
    "Replicated" in mode
      ? mode.Replicated.Replicas
      : "ReplicatedJob" in mode
        ? mode.ReplicatedJob.TotalCompletions
        : // A global service: one task per eligible node, as many as swarm wants running.
          (s.ServiceStatus?.DesiredTasks ?? current.length);
  const { state, ok } =
    kind === "job" ? jobState(shown, desired) : serviceState(shown, current, running, desired);
  const update = updateState(s);
  const since = shown
    .filter((t) => t.state === "running" && t.since)
    .map((t) => t.since!)
    .sort()
    .at(-1);
  return {
    service,
    kind,
    state: healthcheck && state === "running" ? "running (healthy)" : state,
    ok: ok && (update?.ok ?? true),
    image: s.Spec.TaskTemplate.ContainerSpec.Image,
    ports: [
      ...new Set(
        (s.Endpoint?.Ports ?? [])
          .filter((p) => p.PublishedPort !== undefined)
          .map((p) =>
            publishedAddress({
              ip: "",
              host: p.PublishedPort!,
              container: p.TargetPort,
              protocol: p.Protocol,
            }),
          ),
      ),
    ],
    ...(since ? { since } : {}),
    replicas: { running: kind === "job" ? countDone(shown) : running, desired },
    ...(update ? { update: update.text } : {}),
    tasks: shown,
  };
}

function countDone(tasks: readonly TaskStatus[]): number {
  return tasks.filter((t) => t.state === "complete").length;
}

function jobState(tasks: readonly TaskStatus[], desired: number): { state: string; ok: boolean } {
  const failed = tasks.find((t) => failedStates.has(t.state) || !t.ok);
  if (failed)
    return {
      state: `failed${failed.exitCode === undefined ? "" : ` (exit ${failed.exitCode})`}`,
      ok: false,
    };
  if (desired > 0 && countDone(tasks) >= desired) return { state: "completed", ok: true };
  if (tasks.some((t) => t.state === "running")) return { state: "running", ok: true };
  return { state: "starting", ok: true };
}

function serviceState(
  shown: readonly TaskStatus[],
  current: readonly { task: TaskDetails; history: TaskDetails[] }[],
  running: number,
  desired: number,
): { state: string; ok: boolean } {
  if (desired === 0) return { state: "scaled to 0", ok: true };
  if (running >= desired) return { state: "running", ok: true };
  if (shown.some((t) => !t.ok)) return { state: "failing", ok: false };
  // A slot whose task is starting again after its last one failed: swarm's restart loop,
  // what Docker calls restarting for one container.
  const again = current.some(
    ({ task, history }) =>
      startingStates.has(task.Status.State) && failedStates.has(history[0]?.Status.State ?? ""),
  );
  if (again) return { state: "restarting", ok: false };
  return { state: "starting", ok: true };
}
