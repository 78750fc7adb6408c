/**
 * `hln rollback`: puts an app's swarm services back to the spec each had before its last
 * update, which the swarm keeps (one, as PreviousSpec). Only a swarm keeps one: a single
 * engine replaced the container, so going back there is a deploy of the old inputs.
 */
import { hostname, userInfo } from "node:os";
import type { DockerClient } from "../docker/client.js";
import { inspectService, type ServiceDetails, updateService } from "../docker/services.js";
import { HlnError } from "../errors.js";
import { containerName, labels } from "./names.js";
import { deployedApps, isEmptyApp, observeApp, unknownApp } from "./observe.js";
import { changedParts, readConfigParts } from "./service-config.js";
import type { DeployRecord, StateStore } from "./state-store.js";
import { findSwarmApp } from "./swarm-app.js";
import { awaitService } from "./swarm-gate.js";
import type { ObservedService } from "./swarm-observe.js";

export interface RollbackOptions {
  docker: DockerClient;
  app: string;
  /** Only this service; without it, every service of the app that has a previous spec. */
  service?: string;
  store: StateStore;
  /** What the lock's owner is doing, e.g. `hln rollback shop`. */
  command: string;
  signal?: AbortSignal;
  /** How long to wait for another live holder of the app's lock (see LockOptions). */
  lockWaitMs?: number;
  onLockWait?: (message: string) => void;
  onTakeover?: (message: string) => void;
  /** Progress of one service's rollback, e.g. `rolling back`, `updating (1 of 2 running)`. */
  onEvent?: (service: string, message: string) => void;
  /** Redacts secret values from an error kept in the history. */
  scrub?: (text: string) => string;
}

export interface ServiceRollback {
  service: string;
  /**
   * rolled back: the swarm runs the previous spec again; paused: the swarm stopped the
   * rollback half way (a task of the previous spec failed); skipped: nothing to go back to.
   */
  outcome: "rolled back" | "paused" | "failed" | "skipped";
  /** What changed back, e.g. "env GREETING changed"; why it was skipped. */
  reasons: string[];
  /** The swarm's word on the outcome. */
  message: string;
}

/** What going from the service's spec back to its previous one changes; pure. */
export function rollbackReasons(s: Pick<ServiceDetails, "Spec" | "PreviousSpec">): string[] {
  const now = readConfigParts(s.Spec.Labels?.[labels.config]);
  const before = readConfigParts(s.PreviousSpec?.Labels?.[labels.config]);
  if (!before) return ["settings changed"];
  return changedParts(now, before);
}

/**
 * Why a service is not rolled back, or undefined when it can be. Swarm keeps one previous
 * spec, and a rollback swaps it with the current one: rolling back a service whose last
 * change was a rollback (hln's or the swarm's own, after a failed update) would redo the
 * update that was undone.
 */
export function cannotRollBack(s: ObservedService): string | undefined {
  if (s.kind === "job") return "a job: it runs once per deploy, so hln up runs it again";
  // Swarm drops the previous spec when it rolls a failed update back by itself.
  if (!s.hasPrevious)
    return "no previous spec: it was never updated, or the swarm rolled its last update back";
  const state = s.details.UpdateStatus?.State;
  if (state === "rollback_completed" || state === "rollback_started" || state === "rollback_paused")
    return `already rolled back${s.updateMessage ? ` (${s.updateMessage})` : ""}: rolling back again would redo the update that was undone`;
  return undefined;
}

export async function rollbackApp(o: RollbackOptions): Promise<ServiceRollback[]> {
  const { docker, app, signal } = o;
  await requireSwarmApp(docker, app, signal);
  const lock = await o.store.lock(app, {
    command: o.command,
    signal,
    waitMs: o.lockWaitMs,
    onWait: o.onLockWait,
    onTakeover: o.onTakeover,
  });
  try {
    // Read again under the lock: an up that held it may have changed the services.
    const observed = await findSwarmApp(docker, app, signal);
    const services = observed?.services ?? [];
    let picked = services;
    if (o.service !== undefined) {
      const named = services.find((s) => s.service === o.service);
      if (!named)
        throw new HlnError(
          "E_USAGE",
          `app ${app} has no service "${o.service}" (services: ${services.map((s) => s.service).join(", ") || "none"})`,
        );
      const why = cannotRollBack(named);
      if (why)
        throw new HlnError("E_USAGE", `service ${o.service} of app ${app}: ${why}`, {
          hint: `hln status ${app} shows where each service's last update stands`,
        });
      picked = [named];
    }
    const results = await Promise.all(
      picked.map(async (s): Promise<ServiceRollback> => {
        const why = cannotRollBack(s);
        if (why) return { service: s.service, outcome: "skipped", reasons: [why], message: "" };
        return await rollBackService(docker, s, o);
      }),
    );
    await record(o, results);
    const failed = results.filter((r) => r.outcome === "paused" || r.outcome === "failed");
    if (failed.length > 0)
      throw new HlnError(
        "E_DEPLOY_FAILED",
        `rollback of app ${app}: ${failed.map((r) => `${r.service} ${r.outcome}${r.message ? ` (${r.message})` : ""}`).join("; ")}`,
        { hint: `hln status ${app} shows each task and its error` },
      );
    return results;
  } catch (err) {
    if (HlnError.from(err).code === "E_ABORTED") await record(o, [], err).catch(() => undefined);
    throw err;
  } finally {
    lock.release();
  }
}

/**
 * Fails unless the app is on a swarm: E_USAGE naming the app when it does not exist, and
 * saying what to do instead when it runs on one engine.
 */
async function requireSwarmApp(
  docker: DockerClient,
  app: string,
  signal?: AbortSignal,
): Promise<void> {
  if (await findSwarmApp(docker, app, signal)) return;
  const observed = await observeApp(docker, app, signal);
  if (isEmptyApp(observed))
    throw unknownApp(app, docker.endpoint, await deployedApps(docker, signal));
  throw new HlnError(
    "E_USAGE",
    `rollback needs a swarm: app ${app} runs on ${docker.endpoint} as containers, and a single engine keeps no previous version of a service`,
    { hint: `run hln up ${app} with the previous inputs (the stack version and values it had)` },
  );
}

async function rollBackService(
  docker: DockerClient,
  s: ObservedService,
  o: RollbackOptions,
): Promise<ServiceRollback> {
  const reasons = rollbackReasons(s.details);
  const before = s.details.UpdateStatus?.StartedAt;
  // At the version read: a change made meanwhile is refused by the swarm, not undone.
  await updateService(docker, s.id, s.version, s.details.Spec, {
    rollback: true,
    signal: o.signal,
  });
  o.onEvent?.(s.service, "rolling back");
  const result = await awaitService(docker, s.id, {
    signal: o.signal,
    before,
    onEvent: (m) => o.onEvent?.(s.service, m),
  });
  return {
    service: s.service,
    // The swarm calls a rollback that ran to its end completed; awaitService reads that as
    // "rolled back", which here is the success.
    outcome:
      result.outcome === "rolled back" || result.outcome === "completed"
        ? "rolled back"
        : result.outcome,
    reasons,
    message: result.message,
  };
}

/** The rollback is history, and the state says what runs now. */
async function record(
  o: RollbackOptions,
  results: readonly ServiceRollback[],
  err?: unknown,
): Promise<void> {
  const state = await o.store.read(o.app, o.signal).catch(() => undefined);
  // Without a state file (deployed from another machine) there is no history to add to.
  if (!state) return;
  const done = results.filter((r) => r.outcome !== "skipped");
  if (done.length === 0 && err === undefined) return;
  const services = { ...state.services };
  for (const r of done) {
    const now = await inspectService(o.docker, containerName(o.app, r.service)).catch(
      () => undefined,
    );
    const prior = services[r.service];
    if (now && prior)
      services[r.service] = {
        ...prior,
        image: now.Spec.TaskTemplate.ContainerSpec.Image,
        configHash: now.Spec.Labels?.[labels.configHash] ?? prior.configHash,
      };
  }
  const failed = results.filter((r) => r.outcome === "paused" || r.outcome === "failed");
  const error =
    err !== undefined
      ? HlnError.from(err).message
      : failed.length > 0
        ? failed.map((r) => `${r.service} ${r.outcome}: ${r.message}`).join("; ")
        : undefined;
  let user = "";
  try {
    user = userInfo().username;
  } catch {}
  const entry: DeployRecord = {
    at: new Date().toISOString(),
    action: "rollback",
    result: err !== undefined ? "cancelled" : failed.length > 0 ? "failed" : "ok",
    ...(error ? { error: o.scrub ? o.scrub(error) : error } : {}),
    stackVersion: state.stack.version,
    changes: done.map(
      (r) =>
        `rollback ${r.service} (${r.reasons.join(", ")})${r.outcome === "rolled back" ? "" : `: ${r.outcome}`}`,
    ),
    by: { user, host: hostname(), pid: process.pid },
  };
  // Not under the run's signal: after Ctrl-C the record is what is still owed.
  await o.store.write({ ...state, services, history: [...state.history, entry] });
}
