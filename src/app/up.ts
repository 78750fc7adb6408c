/**
 * `hln up` as a library call: run the stack's `up` action, build every service image at
 * once, plan against what the engine runs, and converge, holding the app's lock and
 * recording the deploy in the app's state.
 */
import { hostname, userInfo } from "node:os";
import { basename } from "node:path";
import type { Engine } from "../engine/engine.js";
import { HlnError } from "../errors.js";
import { registryAuth } from "../sdk/registry-auth.js";
import { fingerprint, fingerprintKey } from "../sdk/secret-fingerprint.js";
import type { DeclaredService } from "../stack/app-spec.js";
import type { PreparedStack } from "../stack/prepare-stack.js";
import { type RunActionOptions, runAction } from "../stack/run-action.js";
import {
  type BuiltImage,
  buildImages,
  type DeployRegistry,
  parseRegistry,
  pruneImageTags,
  pruneSwarmImages,
  pushImages,
  registryText,
} from "./build-images.js";
import { converge } from "./converge.js";
import { labels } from "./names.js";
import { observeApp } from "./observe.js";
import { isNoop, type Plan, planApp } from "./plan.js";
import {
  configHash,
  configParts,
  type DesiredService,
  publishedAddress,
} from "./service-config.js";
import { type AppState, type DeployRecord, fileStateStore } from "./state-store.js";
import { swarmAddresses } from "./swarm-addresses.js";
import { convergeSwarm, removeUnusedSecrets } from "./swarm-converge.js";
import { observeSwarmApp } from "./swarm-observe.js";
import { isSwarmNoop, planSwarmApp, type SwarmPlan, unplaceable } from "./swarm-plan.js";
import { swarmConfigParts } from "./swarm-spec.js";
import { chooseTarget, swarmRole, type Target } from "./target.js";
import { singleEngineWarnings } from "./target-notes.js";

export interface UpOptions
  extends Omit<RunActionOptions, "engine" | "prepared" | "action" | "faults"> {
  app: string;
  /** Builds with its BuildKit; its Docker engine is where the app runs. */
  engine: Engine;
  prepared: PreparedStack;
  /** Plan only: build, compare and print, but change nothing on the Docker engine. */
  dryRun?: boolean;
  /** What the lock's owner is doing, e.g. `hln up shop`. */
  command: string;
  faults?: RunActionOptions["faults"];
  /**
   * Where the app runs: the Docker engine itself, or the swarm it manages. Default: the
   * swarm when the engine is a swarm manager, else the engine.
   */
  target?: Target;
  /** Where a swarm's nodes pull the app's images from; needed by a swarm of more than one node. */
  registry?: DeployRegistry;
  /**
   * On a swarm: reach services through its routing mesh and virtual IPs (Docker's way,
   * which needs the kernel's IPVS on every node), or, with false, by DNS round robin with
   * ports published on the nodes that run the tasks. Default: as the last deploy did, else true.
   */
  mesh?: boolean;
  /** Told the plan once it is known, before anything is applied. */
  onPlan?: (plan: Plan | SwarmPlan, desired: readonly DesiredService[]) => void;
  /** One line per thing converge does. */
  onEvent?: (service: string, message: string) => void;
  /** Told when a lock left by a process that is gone is taken over. */
  onTakeover?: (message: string) => void;
  /**
   * How long to wait while another live process holds the app's lock: 0 (default) fails at
   * once with E_LOCKED naming it, Infinity waits until it is done or `signal` aborts.
   */
  lockWaitMs?: number;
  /** Told once, when the lock is held by another live process and this run waits for it. */
  onLockWait?: (message: string) => void;
}

export interface ServiceAddress {
  service: string;
  kind: "service" | "job";
  /** `http://127.0.0.1:8080`, or `127.0.0.1:5432/udp`; empty for services that publish nothing. */
  published: string[];
  /** The name other services reach it by on the app's network. */
  hostname: string;
}

export interface UpResult {
  app: string;
  plan: Plan | SwarmPlan;
  target: Target;
  /** True when nothing on the engine changed. */
  unchanged: boolean;
  changes: string[];
  outputs: unknown;
  addresses: ServiceAddress[];
  dryRun: boolean;
  /** Where the app's state file is. */
  stateFile: string;
}

const appName = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Checks an app name before anything is built: it names containers, networks and files. */
export function checkAppName(app: string, from: string): void {
  if (!appName.test(app) || app.endsWith("-"))
    throw new HlnError(
      "E_USAGE",
      `${from} ${JSON.stringify(app)}: an app name is lowercase letters, digits and dashes, at most 40, starting with a letter or digit`,
    );
}

export async function upApp(o: UpOptions): Promise<UpResult> {
  const { app, engine, prepared, signal } = o;
  checkAppName(app, "app");
  const docker = engine.docker;
  const info = await docker.info({ signal });
  const engineId = info.ID ?? "";
  if (!engineId)
    throw new HlnError("E_ENGINE_PROTOCOL", `${docker.endpoint}: /info reported no engine ID`);
  const target = chooseTarget(info, docker.endpoint, o.target);
  const nodes = swarmRole(info).nodes;
  const store = fileStateStore({ env: o.env, engineId });
  // A rerun pushes where the last deploy did, and reaches services as it did, unless told otherwise.
  const last = (await store.read(app, signal))?.engine;
  const recorded = o.registry ? undefined : last?.registry;
  const mesh = o.mesh ?? last?.mesh ?? true;
  const registry =
    o.registry ??
    (recorded ? parseRegistry(recorded, `the registry recorded for ${app}`) : undefined);
  if (target === "swarm" && !registry && nodes > 1)
    throw new HlnError(
      "E_USAGE",
      `${docker.endpoint} manages a swarm of ${nodes} nodes, which pull the app's images: no registry is configured for them to pull from`,
      {
        hint: "a registry every node reaches, as HOST[:PORT][/PREFIX], or http://HOST:PORT for one without TLS",
        remedy: { settings: ["registry"], lead: "set" },
      },
    );
  const stateFile = `${store.location}/${app}.json`;
  // A dry run changes nothing, so it needs no lock.
  const lock = o.dryRun
    ? undefined
    : await store.lock(app, {
        command: o.command,
        signal,
        onTakeover: o.onTakeover,
        waitMs: o.lockWaitMs,
        onWait: o.onLockWait,
      });
  const previous = await store.read(app, signal);
  const stackLabel = `${prepared.stack.name}@${prepared.stack.version}`;
  const pushing = target === "swarm" && registry !== undefined && !o.dryRun;
  let plan: Plan | SwarmPlan | undefined;
  let changes: string[] = [];
  try {
    const { outputs, desired, images, volumes } = await runAction(
      { ...o, engine, prepared, action: "up" },
      async (run) => {
        // Nothing is deployed yet: on Ctrl-C the build is dropped at once, and closing the
        // dag cancels it on the engine, rather than waiting for its exports to wind down.
        const built: Promise<Map<string, BuiltImage>> =
          pushing && registry
            ? pushImages(app, run.app.services, registry)
            : buildImages(docker, app, run.app.services, { store: !o.dryRun, signal });
        const images = await unlessAborted(built, signal);
        return { outputs: run.result, desired: run.app.services, images, volumes: run.app.volumes };
      },
    );
    const key = fingerprintKey(o.env);
    const wanted: DesiredService[] = await Promise.all(
      desired.map(async (spec) => ({
        spec,
        image: images.get(spec.name) ?? { id: "", configDigest: "", tag: "" },
        secretFingerprints: Object.fromEntries(
          await Promise.all(
            spec.secrets.map(
              async ({ path, secret }) => [path, fingerprint(await secret.value(), key)] as const,
            ),
          ),
        ),
      })),
    );
    const result: Omit<UpResult, "plan" | "unchanged" | "changes"> = {
      app,
      target,
      outputs,
      addresses: addressesOf(desired),
      dryRun: o.dryRun === true,
      stateFile,
    };
    const noServices = () =>
      new HlnError(
        "E_USAGE",
        `stack ${stackLabel}: its up action declares no services or jobs, so there is no app to deploy`,
        { hint: `hln do up runs the action alone; ctx.app.service(...) declares a service` },
      );
    let hashOf: (d: DesiredService) => string;
    if (target === "swarm") {
      const [refused] = unplaceable(wanted, { nodes, mesh });
      if (refused) throw new HlnError("E_USAGE", refused);
      const observed = await observeSwarmApp(docker, app, signal);
      if (desired.length === 0 && !previous && observed.services.length === 0) throw noServices();
      const swarmPlan = planSwarmApp(app, wanted, observed, {
        nodes,
        registry: !!registry,
        mesh,
      });
      plan = swarmPlan;
      o.onPlan?.(swarmPlan, wanted);
      if (o.dryRun) return { ...result, plan, unchanged: isSwarmNoop(swarmPlan), changes: [] };
      const converged = await convergeSwarm({
        docker,
        app,
        plan: swarmPlan,
        desired: wanted,
        ...(observed.network ? { networkId: observed.network.id } : {}),
        secretIds: new Map(observed.secrets.map((x) => [x.name, x.id])),
        extraLabels: { [labels.stack]: stackLabel },
        mesh,
        // Every node pulls with the credentials this machine pushed with.
        ...(registry
          ? {
              registryAuth: await registryAuth(registry.host, {
                env: o.env ?? process.env,
                signal,
              }),
            }
          : {}),
        signal,
        onEvent: o.onEvent,
      });
      changes = converged.changes;
      for (const name of await removeUnusedSecrets(docker, app, signal))
        changes.push(`remove secret ${name} (no longer used)`);
      hashOf = (d) => configHash(swarmConfigParts(d, mesh));
      result.addresses = await swarmAddresses(docker, app, wanted, {
        mesh,
        managerAddr: info.Swarm?.NodeAddr ?? "",
        signal,
      });
    } else {
      for (const warning of singleEngineWarnings(desired)) o.onWarning?.(warning);
      const observed = await observeApp(docker, app, signal);
      if (desired.length === 0 && !previous && observed.containers.length === 0) throw noServices();
      const enginePlan = planApp(app, wanted, observed, volumes);
      plan = enginePlan;
      o.onPlan?.(enginePlan, wanted);
      if (o.dryRun) return { ...result, plan, unchanged: isNoop(enginePlan), changes: [] };
      const converged = await converge({
        docker,
        app,
        plan: enginePlan,
        desired: wanted,
        extraLabels: { [labels.stack]: stackLabel },
        localEngine: docker.endpoint.startsWith("unix://"),
        signal,
        onEvent: o.onEvent,
      });
      changes = converged.changes;
      hashOf = (d) => configHash(configParts(d));
    }
    const keep = new Set([...images.values()].map((i) => i.tag));
    if (target === "swarm") await pruneSwarmImages(docker, app, keep, signal);
    else await pruneImageTags(docker, app, keep, signal);
    await store.write(
      {
        ...stateOf(o, engineId, target, registry, mesh),
        outputs,
        services: Object.fromEntries(
          wanted.map((d) => [
            d.spec.name,
            { kind: d.spec.kind, image: images.get(d.spec.name)?.tag ?? "", configHash: hashOf(d) },
          ]),
        ),
        history: [...(previous?.history ?? []), record(o, "ok", changes)],
      },
      signal,
    );
    return { ...result, plan, unchanged: changes.length === 0, changes };
  } catch (err) {
    // A deploy that got as far as the engine is history; a stack that failed before it
    // does not make an app exist.
    if (!o.dryRun && (previous || plan))
      await recordFailure(o, store, engineId, target, registry, previous, err, changes);
    // A first deploy that left no container behind leaves no images either: nothing
    // would ever use them, and no `hln down` would find them.
    if (!o.dryRun && !previous && target === "docker") await dropUnusedImages(docker, app);
    throw err;
  } finally {
    lock?.release();
  }
}

async function dropUnusedImages(docker: Engine["docker"], app: string): Promise<void> {
  try {
    // Not under the run's signal: after Ctrl-C this is the tidying that is still owed.
    const observed = await observeApp(docker, app);
    if (observed.containers.length === 0) await pruneImageTags(docker, app, new Set());
  } catch {
    // The deploy's own failure is what the user needs to read.
  }
}

/** A failed deploy is history too: `hln status` shows it, and the state says what ran. */
async function recordFailure(
  o: UpOptions,
  store: ReturnType<typeof fileStateStore>,
  engineId: string,
  target: Target,
  registry: DeployRegistry | undefined,
  previous: AppState | undefined,
  err: unknown,
  changes: string[],
): Promise<void> {
  const e = HlnError.from(err);
  const result = e.code === "E_ABORTED" ? "cancelled" : "failed";
  const message = o.redactor ? o.redactor.scrub(e.message) : e.message;
  try {
    await store.write({
      ...stateOf(o, engineId, target, registry, o.mesh ?? previous?.engine.mesh),
      outputs: previous?.outputs ?? null,
      services: previous?.services ?? {},
      history: [...(previous?.history ?? []), record(o, result, changes, message)],
    });
  } catch {
    // The deploy's own failure is what the user needs to read.
  }
}

function stateOf(
  o: UpOptions,
  engineId: string,
  target: Target,
  registry?: DeployRegistry,
  mesh?: boolean,
): Omit<AppState, "outputs" | "services" | "history"> {
  const { prepared } = o;
  const secretSources: Record<string, string> = {};
  const inputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(prepared.inputs.recorded)) {
    if (name in prepared.inputs.secrets) secretSources[name] = String(value);
    else inputs[name] = value;
  }
  return {
    app: o.app,
    engine: {
      id: engineId,
      endpoint: o.engine.docker.endpoint,
      ...(target === "swarm" ? { target } : {}),
      ...(target === "swarm" && registry ? { registry: registryText(registry) } : {}),
      ...(target === "swarm" && mesh === false ? { mesh } : {}),
    },
    stack: {
      // A local stack given as a file (not DIR/stack.ts) is found again by its file.
      ref:
        prepared.source === "local" && basename(prepared.file) !== "stack.ts"
          ? prepared.file
          : prepared.reference,
      name: prepared.stack.name,
      version: prepared.stack.version,
    },
    inputs,
    secretSources,
  };
}

function record(
  o: UpOptions,
  result: DeployRecord["result"],
  changes: string[],
  error?: string,
): DeployRecord {
  let user = "";
  try {
    user = userInfo().username;
  } catch {}
  return {
    at: new Date().toISOString(),
    action: "up",
    result,
    ...(error ? { error } : {}),
    stackVersion: o.prepared.stack.version,
    changes,
    by: { user, host: hostname(), pid: process.pid },
  };
}

/** Where each service can be reached once it runs. */
export function addressesOf(services: readonly DeclaredService[]): ServiceAddress[] {
  return services.map((s) => ({
    service: s.name,
    kind: s.kind,
    hostname: s.name,
    published: s.ports.map(publishedAddress),
  }));
}

/** `work`, or E_ABORTED as soon as `signal` aborts; `work`'s own later failure is dropped. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(abortedError(signal));
    signal.addEventListener("abort", stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

function abortedError(signal: AbortSignal): HlnError {
  return new HlnError("E_ABORTED", "cancelled", { cause: signal.reason });
}
