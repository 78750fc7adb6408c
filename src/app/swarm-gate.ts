/**
 * Waiting on a swarm: a service is ready when every task it wants runs the spec it now has
 * (a task with a health check runs only once healthy), a job when its current run
 * completed. An update the swarm rolled back or paused is told apart from one that took,
 * by the update status the swarm starts afresh for each update.
 */
import type { DockerClient } from "../docker/client.js";
import { inspectContainer } from "../docker/containers.js";
import { inspectService, type ServiceDetails, taskLogs } from "../docker/services.js";
import { listTasks, type TaskDetails } from "../docker/tasks.js";
import { HlnError, throwIfAborted } from "../errors.js";
import { hintLines, logHint } from "./log-hint.js";
import { pause } from "./wait.js";

export interface AwaitOptions {
  signal?: AbortSignal;
  /** One line per thing worth saying while waiting, e.g. "updating (1 of 2 tasks)". */
  onEvent?: (message: string) => void;
  /**
   * The update status the service had before this change (its StartedAt): a rollback or
   * pause that was already there before is not this change's outcome.
   */
  before?: string;
  /** A new service: its first failed task fails the wait, rather than being retried forever. */
  failFast?: boolean;
  /** Default 500 ms. */
  pollMs?: number;
}

export interface AwaitResult {
  outcome: "completed" | "rolled back" | "paused" | "failed";
  /** The swarm's word for it, or the failed task's error. */
  message: string;
  /** The newest failed task seen while waiting. */
  failedTask?: TaskDetails;
  /**
   * What it said as it failed: its health check's last output when its container is on
   * this engine, and its last log lines. Read when the failure is first seen, since the
   * swarm soon removes a failed task's container.
   */
  hint?: string;
}

/** Same spec: the task runs what the service now asks for. */
function runsCurrentSpec(task: TaskDetails, service: ServiceDetails): boolean {
  const want = service.Spec.TaskTemplate;
  return (
    JSON.stringify(task.Spec.ContainerSpec ?? {}) === JSON.stringify(want.ContainerSpec) &&
    (task.Spec.ForceUpdate ?? 0) === (want.ForceUpdate ?? 0)
  );
}

const failedStates = new Set(["failed", "rejected"]);

/** Waits until the service's update settles and its tasks run; see AwaitResult. */
export async function awaitService(
  docker: DockerClient,
  id: string,
  o: AwaitOptions = {},
): Promise<AwaitResult> {
  const started = Date.now();
  const seen = new Set<string>();
  let lastFailed: { task: TaskDetails; hint: string | undefined } | undefined;
  let said = "";
  const say = (m: string) => {
    if (m !== said) o.onEvent?.(m);
    said = m;
  };
  for (;;) {
    throwIfAborted(o.signal);
    const service = await inspectService(docker, id, o.signal);
    if (!service) throw new HlnError("E_DEPLOY_FAILED", `service ${id} disappeared`);
    const tasks = await listTasks(docker, { services: [service.ID], signal: o.signal });
    const update = service.UpdateStatus;
    const fresh = update?.StartedAt !== undefined && update.StartedAt !== o.before;
    const recent = (t: TaskDetails) => Date.parse(t.CreatedAt) >= started - 60_000;
    // A task that ended on its own (a service's task "completes" when its process exits 0,
    // e.g. on the SIGTERM an unhealthy container gets) failed as much as one that crashed.
    const failed = tasks.find(
      (t) =>
        recent(t) &&
        (failedStates.has(t.Status.State) ||
          (t.Status.State === "complete" && t.DesiredState === "running") ||
          (t.Status.State === "shutdown" && Boolean(t.Status.Err))),
    );
    if (failed && !seen.has(failed.ID)) {
      seen.add(failed.ID);
      lastFailed = { task: failed, hint: await failureHint(docker, failed, o.signal) };
      o.onEvent?.(
        `a new task failed: ${failed.Status.Err || failed.Status.Message || failed.Status.State}`,
      );
    }
    if (fresh && update?.State === "rollback_completed" && !lastFailed) {
      // Its end came and went between two looks: the newest task of the spec rolled back
      // from is the one that failed.
      const undone = tasks.find((t) => recent(t) && !runsCurrentSpec(t, service));
      if (undone) lastFailed = { task: undone, hint: await failureHint(docker, undone, o.signal) };
    }
    const why = lastFailed ? { failedTask: lastFailed.task, hint: lastFailed.hint } : {};
    if (fresh && update?.State === "rollback_completed")
      return { outcome: "rolled back", message: update.Message ?? "", ...why };
    if (fresh && (update?.State === "paused" || update?.State === "rollback_paused"))
      return { outcome: "paused", message: update.Message ?? "", ...why };
    if (update?.State === "rollback_started") say("rolling back");
    const wanted = "Replicated" in service.Spec.Mode ? service.Spec.Mode.Replicated.Replicas : 1;
    const current = tasks.filter(
      (t) => t.DesiredState === "running" && runsCurrentSpec(t, service),
    );
    const running = current.filter((t) => t.Status.State === "running").length;
    const settling = update?.State === "updating" || update?.State === "rollback_started";
    if (!settling && running >= wanted && current.length === wanted)
      return { outcome: "completed", message: update?.Message ?? "" };
    if (o.failFast && failed && runsCurrentSpec(failed, service))
      return {
        outcome: "failed",
        message: failed.Status.Err || failed.Status.Message || failed.Status.State,
        ...why,
      };
    if (update?.State !== "rollback_started")
      say(
        settling
          ? `updating (${running} of ${wanted} new task${wanted === 1 ? "" : "s"} running)`
          : `starting (${running} of ${wanted} running)`,
      );
    await pause(o.pollMs ?? 500, o.signal);
  }
}

/** Waits for the job's current run: resolves when it completed, fails with its task's error. */
export async function awaitJob(
  docker: DockerClient,
  id: string,
  o: Pick<AwaitOptions, "signal" | "pollMs" | "onEvent"> = {},
): Promise<AwaitResult> {
  for (;;) {
    throwIfAborted(o.signal);
    const service = await inspectService(docker, id, o.signal);
    if (!service) throw new HlnError("E_DEPLOY_FAILED", `job ${id} disappeared`);
    const iteration = service.JobStatus?.JobIteration.Index;
    const tasks = (await listTasks(docker, { services: [service.ID], signal: o.signal })).filter(
      (t) => t.JobIteration === undefined || t.JobIteration.Index === iteration,
    );
    const done = tasks.find((t) => t.Status.State === "complete");
    if (done) return { outcome: "completed", message: "" };
    const failed = tasks.find((t) => failedStates.has(t.Status.State));
    if (failed)
      return {
        outcome: "failed",
        message: failed.Status.Err || failed.Status.Message || failed.Status.State,
        failedTask: failed,
        hint: await failureHint(docker, failed, o.signal),
      };
    await pause(o.pollMs ?? 500, o.signal);
  }
}

/**
 * Why a task failed, as a hint under an error: its health check's last output, when its
 * container is on this engine (a manager cannot show another node's containers), then its
 * last log lines, which the manager gathers from whichever node ran it.
 */
export async function failureHint(
  docker: DockerClient,
  task: TaskDetails,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const parts: string[] = [];
  const container = task.Status.ContainerStatus?.ContainerID;
  if (container) {
    const c = await inspectContainer(docker, container, signal).catch(() => undefined);
    const last = c?.State.Health?.Log?.at(-1);
    if (last)
      parts.push(
        `its health check exited ${last.ExitCode}${last.Output.trim() ? `: ${last.Output.trim().split("\n").at(-1)}` : ""}`,
      );
  }
  parts.push(await logHint(taskLogs(docker, task.ID, { tail: hintLines, signal })));
  return parts.join("; ");
}
