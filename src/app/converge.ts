/**
 * Applies a plan on the Docker engine. Services start as soon as what they depend on
 * meets its condition (started, healthy, completed), so independent services apply at
 * the same time. A replaced container is stopped and set aside before its successor is
 * made, and removed only once the successor runs: an interruption leaves the old one or
 * the new one, never neither.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import type { DockerClient } from "../docker/client.js";
import {
  containerLogs,
  createContainer,
  inspectContainer,
  killContainer,
  listContainers,
  putArchive,
  removeContainer,
  renameContainer,
  startContainer,
  stopContainer,
  waitContainer,
} from "../docker/containers.js";
import { createNetwork } from "../docker/networks.js";
import { tarFiles } from "../docker/tar-file.js";
import { createVolume } from "../docker/volumes.js";
import { HlnError, throwIfAborted } from "../errors.js";
import { deployError } from "./deploy-error.js";
import { applyInDependencyOrder } from "./in-dependency-order.js";
import { hintLines, logHint } from "./log-hint.js";
import { containerName, labels, networkName, volumeName } from "./names.js";
import type { ObservedContainer } from "./observe.js";
import type { Plan, PlanStep } from "./plan.js";
import { createBody, type DesiredService } from "./service-config.js";
import { pause } from "./wait.js";

export interface ConvergeOptions {
  docker: DockerClient;
  app: string;
  plan: Plan;
  desired: readonly DesiredService[];
  /** Labels every container gets besides hln's own, e.g. the stack's name and version. */
  extraLabels: Record<string, string>;
  /** Whether the Docker engine runs on this machine, where a port taken by any process can be seen. */
  localEngine: boolean;
  signal?: AbortSignal;
  /** One line per thing done, for progress. */
  onEvent?: (service: string, message: string) => void;
  /** How often container state is polled while waiting for health. Default 250 ms. */
  pollMs?: number;
  /**
   * How long a new service without a health check is watched for dying as it starts.
   * Default 1500 ms.
   */
  settleMs?: number;
}

export interface ConvergeResult {
  /** One line per change made, e.g. "recreate api (image changed)". */
  changes: string[];
}

/** Fails before anything changes when a port the plan publishes is taken by someone else. */
export async function checkPorts(o: ConvergeOptions): Promise<void> {
  const replaced = new Set<string>();
  const wanted: { service: string; ip: string; port: number; protocol: string }[] = [];
  for (const step of o.plan.steps) {
    if (step.action === "recreate") for (const c of step.replaces) replaced.add(c.id);
    if (step.action === "remove") for (const c of step.containers) replaced.add(c.id);
    if (step.action === "create" || step.action === "recreate") {
      const d = o.desired.find((x) => x.spec.name === step.service);
      for (const p of d?.spec.ports ?? [])
        wanted.push({ service: step.service, ip: p.ip, port: p.host, protocol: p.protocol });
    }
  }
  if (o.localEngine) checkHostPaths(o);
  if (wanted.length === 0) return;
  const running = await listContainers(o.docker, { signal: o.signal });
  const ours = new Set<string>();
  for (const c of running) {
    for (const p of c.Ports ?? []) {
      if (p.PublicPort === undefined) continue;
      if (replaced.has(c.Id)) {
        ours.add(`${p.PublicPort}/${p.Type}`);
        continue;
      }
      const clash = wanted.find(
        (w) =>
          w.port === p.PublicPort && w.protocol === p.Type && overlaps(w.ip, p.IP ?? "0.0.0.0"),
      );
      if (clash)
        throw new HlnError(
          "E_DEPLOY_FAILED",
          `service ${clash.service}: port ${clash.ip}:${clash.port}/${clash.protocol} is taken by container ${(c.Names[0] ?? c.Id).replace(/^\//, "")}`,
          { hint: "stop that container, or give the service another host port" },
        );
    }
  }
  if (!o.localEngine) return;
  for (const w of wanted) {
    if (w.protocol !== "tcp" || ours.has(`${w.port}/${w.protocol}`)) continue;
    if (!(await canListen(w.ip, w.port)))
      throw new HlnError(
        "E_DEPLOY_FAILED",
        `service ${w.service}: port ${w.ip}:${w.port}/tcp is taken by another process on this host`,
        { hint: "stop what listens there, or give the service another host port" },
      );
  }
}

/**
 * A bind mount's host path must exist (Docker refuses it at create, after other services
 * may have been replaced). Only a local engine's paths can be seen from here.
 */
function checkHostPaths(o: ConvergeOptions): void {
  for (const step of o.plan.steps) {
    if (step.action !== "create" && step.action !== "recreate") continue;
    const d = o.desired.find((x) => x.spec.name === step.service);
    for (const v of d?.spec.volumes ?? [])
      if ("hostPath" in v.source && !existsSync(v.source.hostPath))
        throw new HlnError(
          "E_DEPLOY_FAILED",
          `service ${step.service}: volumes["${v.path}"]: host path ${v.source.hostPath} does not exist`,
          { hint: "create it, or mount an app volume (app.volume(name)) instead" },
        );
  }
}

/** Whether two listen addresses can collide: equal, or either is every address. */
function overlaps(a: string, b: string): boolean {
  const any = (ip: string) => ip === "0.0.0.0" || ip === "::" || ip === "";
  return a === b || any(a) || any(b);
}

function canListen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) =>
      // An address this host does not have cannot be taken here; Docker will say more.
      resolve(err.code !== "EADDRINUSE"),
    );
    server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function converge(o: ConvergeOptions): Promise<ConvergeResult> {
  const { docker, app, plan, signal } = o;
  const changes: string[] = [];
  const say = (service: string, message: string) => o.onEvent?.(service, message);
  await checkPorts(o);
  if (plan.createNetwork) {
    await createNetwork(docker, networkName(app), { [labels.app]: app }, signal);
    changes.push(`create network ${networkName(app)}`);
  }
  for (const v of plan.createVolumes) {
    await createVolume(
      docker,
      volumeName(app, v),
      { [labels.app]: app, [labels.volume]: v },
      signal,
    );
    changes.push(`create volume ${volumeName(app, v)}`);
  }
  // What is declared no more goes first: it may hold a port a new service wants.
  for (const step of plan.steps) {
    if (step.action === "remove") {
      say(step.service, "removing (no longer declared)");
      for (const c of step.containers) await discard(docker, c.id, signal);
      changes.push(`remove ${step.service}`);
    }
    if (step.action === "keep") for (const c of step.extra) await discard(docker, c.id, signal);
  }

  await applyInDependencyOrder(
    plan.steps,
    o.desired,
    async (step, d) => {
      const id = await apply(o, step, d, changes);
      await gate(o, d, id, step.action === "keep");
    },
    signal,
  );
  return { changes };
}

/** Makes the step's container and resolves with the ID of the container that now serves. */
async function apply(
  o: ConvergeOptions,
  step: PlanStep,
  d: DesiredService,
  changes: string[],
): Promise<string> {
  const { docker, app, signal } = o;
  const name = d.spec.name;
  const say = (message: string) => o.onEvent?.(name, message);
  if (step.action === "keep") return step.container.id;
  if (step.action === "create") {
    say(d.spec.kind === "job" ? "running (new job)" : "creating (new service)");
    const id = await makeContainer(o, d);
    changes.push(`create ${name}`);
    return id;
  }
  if (step.action !== "recreate") return "";
  const why = step.reasons.join(", ");
  say(`${d.spec.kind === "job" ? "running" : "recreating"} (${why})`);
  // Set the old containers aside, stopped, under names of their own; whatever stops
  // this (a refused create, Ctrl-C) puts the newest of them back as it was.
  const aside: ObservedContainer[] = [];
  let id: string;
  try {
    for (const c of step.replaces) {
      aside.push(c);
      await stopContainer(docker, c.id, { timeoutS: 10, signal });
      if (c.name === containerName(app, name))
        await renameContainer(
          docker,
          c.id,
          `${containerName(app, name)}-old-${c.id.slice(0, 12)}`,
          signal,
        );
    }
    id = await makeContainer(o, d);
  } catch (err) {
    say("putting the previous container back");
    await restore(o, name, aside).catch(() => {});
    throw err;
  }
  for (const c of aside) await discard(docker, c.id, signal);
  changes.push(`recreate ${name} (${why})`);
  return id;
}

/** Creates the container, writes its secret files, then starts it. */
async function makeContainer(o: ConvergeOptions, d: DesiredService): Promise<string> {
  const { docker, app, signal } = o;
  const name = containerName(app, d.spec.name);
  let id: string;
  try {
    id = await createContainer(docker, name, createBody(app, d, o.extraLabels), signal);
  } catch (err) {
    throw deployError(d.spec.name, err);
  }
  try {
    if (d.spec.secrets.length > 0) {
      const entries = await Promise.all(
        d.spec.secrets.map(async ({ path, secret }) => ({
          path: path.replace(/^\/+/, ""),
          data: await secret.value(),
          mode: 0o444,
        })),
      );
      await putArchive(docker, id, "/", tarFiles(entries), signal);
    }
    await startContainer(docker, id, signal);
  } catch (err) {
    await discard(docker, id, undefined).catch(() => {});
    throw deployError(d.spec.name, err);
  }
  return id;
}

/**
 * Brings the newest replaced container back under its name and, when it ran, starts it
 * again. It runs after the run's signal aborted too, so nothing here takes longer than a
 * couple of seconds (see endStop).
 */
async function restore(o: ConvergeOptions, service: string, aside: ObservedContainer[]) {
  const [newest] = aside;
  if (!newest) return;
  const { docker, app } = o;
  const name = containerName(app, service);
  const now = await inspectContainer(docker, newest.id);
  if (!now) return;
  if (now.Name.replace(/^\//, "") !== name) {
    // A create cut short by Ctrl-C may still have made the successor under the name.
    const holder = await inspectContainer(docker, name);
    if (holder && holder.Id !== newest.id && holder.Config.Labels?.[labels.app] === app)
      await discard(docker, holder.Id, undefined);
    await renameContainer(docker, newest.id, name);
  }
  if (newest.state !== "running" && newest.state !== "restarting") return;
  if (now.State.Running) await endStop(docker, newest.id);
  await startContainer(docker, newest.id);
}

/**
 * How long a container whose stop was cut short (Ctrl-C) is given to end on its own
 * before it is killed: a stop already sent goes on on the engine whatever the client does
 * (SIGTERM, then SIGKILL at the end of its grace, 10 s), and a PID 1 that ignores SIGTERM
 * would hold Ctrl-C that long before the container could be started again.
 */
const stopCutShortMs = 500;

/** Ends a stop in progress: the container's own end if it comes soon, SIGKILL otherwise. */
async function endStop(docker: DockerClient, id: string): Promise<void> {
  try {
    await waitContainer(docker, id, AbortSignal.timeout(stopCutShortMs));
    return;
  } catch {
    // Still in its grace period.
  }
  await killContainer(docker, id, AbortSignal.timeout(5000)).catch(() => {});
  await waitContainer(docker, id, AbortSignal.timeout(5000)).catch(() => {});
}

/**
 * The exit code of a service that died as it started. A restart policy may have started it
 * again by the time it is looked at, and a running container's ExitCode reads 0: its next
 * exit, which a crash loop brings at once, tells the real one.
 */
export async function exitCodeAsItStarted(
  docker: DockerClient,
  id: string,
  state: { Running: boolean; Restarting: boolean; ExitCode: number },
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  if (!state.Running || state.Restarting) return state.ExitCode;
  const bound = AbortSignal.timeout(5000);
  return waitContainer(docker, id, signal ? AbortSignal.any([signal, bound]) : bound).catch(
    (err) => {
      throwIfAborted(signal);
      if (bound.aborted) return undefined;
      throw err;
    },
  );
}

async function discard(docker: DockerClient, id: string, signal: AbortSignal | undefined) {
  await removeContainer(docker, id, { force: true, signal });
}

/**
 * Waits until the container meets what its dependents may ask of it: a job exits (0, or
 * the run fails), a service with a health check becomes healthy (or the run fails).
 */
async function gate(
  o: ConvergeOptions,
  d: DesiredService,
  id: string,
  kept: boolean,
): Promise<void> {
  const { docker, signal } = o;
  const name = d.spec.name;
  if (d.spec.kind === "job") {
    const inspected = await inspectContainer(docker, id, signal);
    const code =
      inspected && !inspected.State.Running && inspected.State.Status === "exited"
        ? inspected.State.ExitCode
        : await waitContainer(docker, id, signal);
    if (code !== 0)
      throw new HlnError("E_DEPLOY_FAILED", `job ${name} exited with ${code}`, {
        hint: await containerHint(docker, id, signal),
      });
    if (!kept) o.onEvent?.(name, "completed");
    return;
  }
  if (!d.spec.healthcheck) {
    if (kept) return;
    // Without a health check, staying up is all a service can show: one that dies as it
    // starts (a restart policy makes that "restarting", and counts it) fails the run now,
    // not at the next `hln up`. It is watched for a short while, not waited on.
    const until = Date.now() + (o.settleMs ?? 1500);
    for (;;) {
      const c = await inspectContainer(docker, id, signal);
      if (c && (!c.State.Running || c.State.Restarting || c.RestartCount > 0)) {
        const code = await exitCodeAsItStarted(docker, id, c.State, signal);
        throw new HlnError(
          "E_DEPLOY_FAILED",
          `service ${name} exited${code === undefined ? "" : ` with ${code}`} as it started`,
          { hint: await containerHint(docker, id, signal) },
        );
      }
      if (Date.now() >= until) return;
      await pause(o.pollMs ?? 100, signal);
    }
  }
  const started = Date.now();
  let reported = false;
  for (;;) {
    throwIfAborted(signal);
    const c = await inspectContainer(docker, id, signal);
    if (!c) throw new HlnError("E_DEPLOY_FAILED", `service ${name}: its container disappeared`);
    const health = c.State.Health?.Status;
    if (health === "healthy") {
      if (reported)
        o.onEvent?.(name, `healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
    if (!c.State.Running && c.State.Status !== "restarting")
      throw new HlnError(
        "E_DEPLOY_FAILED",
        `service ${name} exited with ${c.State.ExitCode} before it became healthy`,
        { hint: await containerHint(docker, id, signal) },
      );
    if (health === "unhealthy") {
      const last = c.State.Health?.Log?.at(-1);
      const output = (last?.Output ?? "").trim().split("\n").at(-1) ?? "";
      throw new HlnError(
        "E_DEPLOY_FAILED",
        `service ${name} is unhealthy: its health check ${last ? `exited ${last.ExitCode}` : "failed"}${output ? `: ${output}` : ""}`,
        { hint: await containerHint(docker, id, signal) },
      );
    }
    if (!reported) {
      o.onEvent?.(name, "waiting until healthy");
      reported = true;
    }
    await pause(o.pollMs ?? 250, signal);
  }
}

/** The container's last lines, as a hint under the error. */
function containerHint(
  docker: DockerClient,
  id: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  return logHint(containerLogs(docker, id, { tail: hintLines, signal }));
}
