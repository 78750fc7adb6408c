/**
 * The app an action declares with `ctx.app`: services, jobs and volumes, recorded as
 * desired state and checked, never run here. `hln up` converges what `spec()` returns.
 * Everything a stack can get wrong is caught either at the call (one option at a time) or
 * in `spec()` once the action has returned (what needs every declaration: `dependsOn`
 * names, cycles, port clashes), so a typo costs no build.
 */
import { durationMs } from "../duration.js";
import { HlnError } from "../errors.js";
import { Container } from "../sdk/container.js";
import { Secret } from "../sdk/secret.js";

export type DependsOnCondition = "started" | "healthy" | "completed";

export interface PortSpec {
  /** The port on the deploy engine's host. */
  host: number;
  /** The port the service listens on in its container. */
  container: number;
  /** The host address to publish on. Default `"127.0.0.1"`: only this machine reaches it. */
  ip?: string;
  /** Default `"tcp"`. */
  protocol?: "tcp" | "udp";
}

/** Docker's health check. Durations read like `"500ms"`, `"1s"`, `"2m"`. */
export interface HealthcheckSpec {
  /** array: exec form (["pg_isready","-U","x"]); string: run by /bin/sh -c */
  test: readonly string[] | string;
  /** Between checks. Docker's default: 30s. */
  interval?: string;
  /** How long one check may take. Docker's default: 30s. */
  timeout?: string;
  /** Failures in a row before the service counts as unhealthy. Docker's default: 3. */
  retries?: number;
  /** Failures during this time after start do not count. Docker's default: 0s. */
  startPeriod?: string;
}

/**
 * How a swarm replaces a service's tasks when its settings change (Docker's
 * `UpdateConfig`). A single Docker engine ignores it, with a warning.
 */
export interface UpdateSpec {
  /**
   * `"start-first"` starts each new task before stopping the old one, so the service
   * stays up (both run for a moment); `"stop-first"` stops the old one first.
   * hln's default: `"start-first"`, or `"stop-first"` for a service that mounts an app
   * volume (two tasks of a database on one data directory can corrupt it).
   */
  order?: "start-first" | "stop-first";
  /** Tasks replaced at a time; `0` replaces them all at once. Default: 1. */
  parallelism?: number;
  /** Wait between one batch and the next, like `"2s"` or `"1m"`. Default: `"0s"`. */
  delay?: string;
  /**
   * What the swarm does when a new task fails to start: `"rollback"` to the previous
   * settings, or `"pause"` the update and leave it half done. Default: `"rollback"`, so
   * a new image that never becomes healthy leaves the old tasks serving.
   */
  failureAction?: "rollback" | "pause";
}

/** A named volume of the app, from `app.volume(name)`. */
export interface VolumeRef {
  readonly kind: "volume";
  readonly name: string;
}

/** An app volume, or an absolute path on the deploy engine's host. */
export type MountSource = VolumeRef | string;

export interface ServiceOptions {
  env?: Record<string, string>;
  /** absolute path in the container -> Secret; written as a file before the container starts */
  secrets?: Record<string, Secret>;
  ports?: readonly PortSpec[];
  /** absolute path in the container -> what is mounted there */
  volumes?: Record<string, MountSource | { source: MountSource; readOnly?: boolean }>;
  /** Default: the image's. */
  command?: readonly string[];
  /** Default: the image's. */
  entrypoint?: readonly string[];
  user?: string;
  /** An absolute path; default: the image's. */
  workdir?: string;
  healthcheck?: HealthcheckSpec;
  /**
   * Services and jobs that must be ready first: `started`, `healthy` (a service with a
   * healthcheck) or `completed` (a job that exited 0).
   */
  dependsOn?: Record<string, DependsOnCondition>;
  /** Default `"unless-stopped"`. */
  restart?: "no" | "always" | "unless-stopped" | "on-failure";
  /**
   * How many tasks of the service a swarm runs, a whole number from 1 to 1000, spread over
   * its nodes and reached by one name (the swarm balances between them). A single Docker
   * engine runs one container per service whatever this says, and warns. Default 1.
   */
  replicas?: number;
  /**
   * How a swarm rolls out a change: order, batch size, delay between batches and what
   * to do when a new task fails. A single Docker engine ignores it (it replaces the one
   * container), and warns. Default: start-first (stop-first with an app volume), one at a time, rollback.
   */
  update?: UpdateSpec;
  /**
   * Swarm placement constraints: which nodes may run the service's tasks (or the job),
   * each `"<attribute> == <value>"` or `"<attribute> != <value>"`, all of them met, for
   * example `"node.role == manager"`, `"node.hostname == a"`, `"node.labels.db == yes"`.
   * Attributes are `node.*` (`node.id`, `node.hostname`, `node.role`, `node.platform.os`,
   * `node.platform.arch`, `node.labels.NAME`) or `engine.labels.NAME`. A single Docker
   * engine ignores them, and warns. Default: any node.
   */
  placement?: readonly string[];
}

/**
 * A job runs to completion: it publishes nothing, has no health, is never restarted, and
 * runs once (no replicas, no rolling update).
 */
export type JobOptions = Omit<
  ServiceOptions,
  "ports" | "healthcheck" | "restart" | "replicas" | "update"
>;

export interface ServiceRef {
  readonly name: string;
  /** the name other services reach it by on the app network */
  readonly hostname: string;
  readonly kind: "service" | "job";
}

/** What an action declares its app with: `ctx.app`. */
export interface App {
  /** A long-running service built from `container`, e.g. a web server. */
  service(name: string, container: Container, options?: ServiceOptions): ServiceRef;
  /** A one-shot job (a migration): it runs to completion, and must exit 0 before what depends on it starts. */
  job(name: string, container: Container, options?: JobOptions): ServiceRef;
  /** A named volume kept across deploys (and across `hln down`, unless `--volumes`). */
  volume(name: string): VolumeRef;
}

/** One declared service or job, normalised. */
export interface DeclaredService {
  name: string;
  kind: "service" | "job";
  container: Container;
  /** Keys sorted. */
  env: Record<string, string>;
  /** Sorted by path. */
  secrets: { path: string; secret: Secret }[];
  /** ip defaulted to 127.0.0.1, protocol to tcp. */
  ports: { host: number; container: number; ip: string; protocol: "tcp" | "udp" }[];
  /** Sorted by path. */
  volumes: {
    path: string;
    source: { volume: string } | { hostPath: string };
    readOnly: boolean;
  }[];
  command?: string[];
  entrypoint?: string[];
  user?: string;
  workdir?: string;
  /** test in Docker's form: ["CMD", ...] for exec form, ["CMD-SHELL", s] for a string */
  healthcheck?: {
    test: string[];
    intervalMs?: number;
    timeoutMs?: number;
    retries?: number;
    startPeriodMs?: number;
  };
  /** Sorted by name. */
  dependsOn: { name: string; condition: DependsOnCondition }[];
  /** Default "unless-stopped" for services, "no" for jobs. */
  restart: "no" | "always" | "unless-stopped" | "on-failure";
  /** Default 1; always 1 for jobs. */
  replicas: number;
  /** Only what was given; absent when `update` was not. */
  update?: {
    order?: "start-first" | "stop-first";
    parallelism?: number;
    delayMs?: number;
    failureAction?: "rollback" | "pause";
  };
  /** `attr==value` or `attr!=value`, no spaces around the operator; in the order given. */
  placement: string[];
}

export interface AppSpec {
  /** Declaration order. */
  services: DeclaredService[];
  /** Names given to app.volume(), sorted, unique. */
  volumes: string[];
}

export interface AppRecorder {
  app: App;
  /** validates the whole declaration; throws HlnError E_STACK_INVALID */
  spec(): AppSpec;
}

/** Docker's network aliases and hln's resource names are built from these: a DNS label. */
const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const nameRule = "a lowercase DNS label: a-z, 0-9 and -, at most 63 characters, no - at either end";
const restarts = ["no", "always", "unless-stopped", "on-failure"] as const;
const conditions = ["started", "healthy", "completed"] as const;
const serviceOptions = [
  "env",
  "secrets",
  "ports",
  "volumes",
  "command",
  "entrypoint",
  "user",
  "workdir",
  "healthcheck",
  "dependsOn",
  "restart",
  "replicas",
  "update",
  "placement",
];
const notForJobs = ["ports", "healthcheck", "restart", "replicas", "update"];
const jobOptions = serviceOptions.filter((o) => !notForJobs.includes(o));

function invalid(message: string): never {
  throw new HlnError("E_STACK_INVALID", message);
}

/** How a value shows in a message: strings quoted, the rest by type. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** `a string (…)`, for "expected X, got Y". */
function got(value: unknown): string {
  if (typeof value === "string") return `a string (${shown(value)})`;
  if (typeof value === "number") return `a number (${value})`;
  return shown(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Records what an action declares. The `app` goes into the action's context; `spec()` is
 * called once the action has returned.
 *
 * @example
 * const { app, spec } = createAppRecorder();
 * const db = app.service("db", postgres, { healthcheck: { test: ["pg_isready"] } });
 * app.service("api", api, { env: { DB_HOST: db.hostname }, dependsOn: { db: "healthy" } });
 * spec().services.map((s) => s.name); // ["db", "api"]
 */
export function createAppRecorder(): AppRecorder {
  const declared = new Map<string, DeclaredService>();
  const volumes = new Set<string>();

  const declare = (
    kind: "service" | "job",
    name: unknown,
    container: unknown,
    options: unknown,
  ): ServiceRef => {
    if (typeof name !== "string" || !namePattern.test(name))
      invalid(`${kind} ${shown(name)}: the name must be ${nameRule}`);
    const at = `${kind} "${name}"`;
    const taken = declared.get(name);
    if (taken) invalid(`${at}: the name is already taken by ${taken.kind} "${name}"`);
    if (!(container instanceof Container))
      invalid(
        `${at}: expected a Container (from dag.container()), got ${got(container)}` +
          (container instanceof Promise ? "; pass the Container, not a promise" : ""),
      );
    const o = options ?? {};
    if (!isRecord(o)) invalid(`${at}: options must be an object, got ${got(o)}`);
    const allowed = kind === "service" ? serviceOptions : jobOptions;
    for (const key of Object.keys(o)) {
      if (allowed.includes(key)) continue;
      invalid(
        serviceOptions.includes(key)
          ? `${at}: a job takes no ${key}`
          : `${at}: unknown option ${JSON.stringify(key)} (options: ${allowed.join(", ")})`,
      );
    }
    const service = normalise(at, kind, name, container, o);
    declared.set(name, service);
    return Object.freeze({ name, hostname: name, kind });
  };

  /** An option's volume reference must be one app.volume() made (or named) here. */
  const volumeName = (where: string, ref: VolumeRef): string => {
    if (!volumes.has(ref.name))
      invalid(`${where}: volume ${shown(ref.name)} was not declared with app.volume()`);
    return ref.name;
  };

  const normalise = (
    at: string,
    kind: "service" | "job",
    name: string,
    container: Container,
    o: Record<string, unknown>,
  ): DeclaredService => {
    const service: DeclaredService = {
      name,
      kind,
      container,
      env: envOf(at, o.env),
      secrets: [],
      ports: portsOf(at, o.ports),
      volumes: [],
      dependsOn: dependsOnOf(at, o.dependsOn),
      restart: restartOf(at, o.restart, kind === "service" ? "unless-stopped" : "no"),
      replicas: replicasOf(at, o.replicas),
      placement: placementOf(at, o.placement),
    };
    const mounted = new Map<string, string>();
    if (o.secrets !== undefined) {
      if (!isRecord(o.secrets)) invalid(`${at}: secrets must be an object, got ${got(o.secrets)}`);
      for (const [path, secret] of Object.entries(o.secrets)) {
        const where = `${at}: secrets${member(path)}`;
        containerPath(where, path);
        if (!(secret instanceof Secret))
          invalid(
            `${where}: expected a Secret (a secret input, or dag.setSecret()), got ${got(secret)}`,
          );
        mounted.set(path, "secret");
        service.secrets.push({ path, secret });
      }
    }
    if (o.volumes !== undefined) {
      if (!isRecord(o.volumes)) invalid(`${at}: volumes must be an object, got ${got(o.volumes)}`);
      for (const [path, given] of Object.entries(o.volumes)) {
        const where = `${at}: volumes${member(path)}`;
        containerPath(where, path);
        if (mounted.has(path)) invalid(`${where}: ${path} is also a secret's path`);
        const long = isRecord(given) && given.kind !== "volume";
        const source = long ? given.source : given;
        const readOnly = long ? given.readOnly : undefined;
        if (readOnly !== undefined && typeof readOnly !== "boolean")
          invalid(`${where}.readOnly: expected true or false, got ${got(readOnly)}`);
        let to: DeclaredService["volumes"][number]["source"];
        if (typeof source === "string") {
          if (!source.startsWith("/"))
            invalid(`${where}: host path ${shown(source)} is not absolute`);
          if (source.includes("\0")) invalid(`${where}: host path holds a NUL byte`);
          to = { hostPath: source };
        } else if (
          isRecord(source) &&
          source.kind === "volume" &&
          typeof source.name === "string"
        ) {
          to = { volume: volumeName(where, source as unknown as VolumeRef) };
        } else {
          invalid(
            `${where}: expected app.volume(name), an absolute host path, or { source, readOnly }, got ${got(source)}`,
          );
        }
        service.volumes.push({ path, source: to, readOnly: readOnly === true });
      }
    }
    service.secrets.sort((a, b) => compare(a.path, b.path));
    service.volumes.sort((a, b) => compare(a.path, b.path));
    const command = argvOf(`${at}: command`, o.command);
    if (command) service.command = command;
    const entrypoint = argvOf(`${at}: entrypoint`, o.entrypoint);
    if (entrypoint) service.entrypoint = entrypoint;
    if (o.user !== undefined) {
      if (typeof o.user !== "string" || o.user === "")
        invalid(`${at}: user must be a non-empty string, got ${got(o.user)}`);
      service.user = o.user;
    }
    if (o.workdir !== undefined) {
      if (typeof o.workdir !== "string")
        invalid(`${at}: workdir must be a string, got ${got(o.workdir)}`);
      containerPath(`${at}: workdir`, o.workdir, true);
      service.workdir = o.workdir;
    }
    const healthcheck = healthcheckOf(at, o.healthcheck);
    if (healthcheck) service.healthcheck = healthcheck;
    const update = updateOf(at, o.update);
    if (update) service.update = update;
    return service;
  };

  let sealed = false;
  const open = (what: string): void => {
    if (sealed) invalid(`${what}: declared after the action returned; await it inside the action`);
  };

  const app: App = {
    service(name, container, options) {
      open(`service ${shown(name)}`);
      return declare("service", name, container, options);
    },
    job(name, container, options) {
      open(`job ${shown(name)}`);
      return declare("job", name, container, options);
    },
    volume(name) {
      open(`volume ${shown(name)}`);
      if (typeof name !== "string" || !namePattern.test(name))
        invalid(`volume ${shown(name)}: the name must be ${nameRule}`);
      volumes.add(name);
      return Object.freeze({ kind: "volume" as const, name });
    },
  };

  return {
    app,
    spec() {
      sealed = true;
      const services = [...declared.values()];
      checkDependsOn(declared);
      checkCycles(services, declared);
      checkPorts(services);
      return { services, volumes: [...volumes].sort(compare) };
    },
  };
}

/** Bytewise, as Go sorts: the same order on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function containerPath(where: string, path: string, rootAllowed = false): void {
  if (!path.startsWith("/"))
    invalid(`${where}: ${shown(path)} is not an absolute path in the container`);
  if (path.includes("\0")) invalid(`${where}: the path holds a NUL byte`);
  if (!rootAllowed && path.replace(/\/+$/, "") === "")
    invalid(`${where}: nothing can be mounted over the container's /`);
}

function envOf(at: string, env: unknown): Record<string, string> {
  if (env === undefined) return {};
  if (!isRecord(env)) invalid(`${at}: env must be an object of strings, got ${got(env)}`);
  const out: Record<string, string> = {};
  for (const key of Object.keys(env).sort(compare)) {
    const value = env[key];
    // Docker reads `KEY=VALUE`: a key with `=` would split elsewhere.
    if (key === "" || key.includes("=") || key.includes("\0"))
      invalid(`${at}: env key ${JSON.stringify(key)} is not a variable name`);
    if (typeof value !== "string")
      invalid(
        `${at}: env${member(key)}: expected a string, got ${got(value)}` +
          (typeof value === "number" || typeof value === "boolean"
            ? `; write String(${String(value)})`
            : ""),
      );
    if (value.includes("\0")) invalid(`${at}: env${member(key)}: the value holds a NUL byte`);
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function portNumber(where: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535)
    invalid(`${where}: expected a port number from 1 to 65535, got ${got(value)}`);
  return value;
}

/** An IPv4 address, or an IPv6 one as a URL host takes it. */
function isIp(text: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) return v4.slice(1).every((n) => Number(n) <= 255);
  if (!text.includes(":")) return false;
  try {
    return new URL(`http://[${text}]/`).hostname !== "";
  } catch {
    return false;
  }
}

function portsOf(at: string, ports: unknown): DeclaredService["ports"] {
  if (ports === undefined) return [];
  if (!Array.isArray(ports)) invalid(`${at}: ports must be a list, got ${got(ports)}`);
  return ports.map((p: unknown, i) => {
    const where = `${at}: ports[${i}]`;
    if (!isRecord(p)) invalid(`${where}: expected { host, container }, got ${got(p)}`);
    for (const key of Object.keys(p))
      if (!["host", "container", "ip", "protocol"].includes(key))
        invalid(
          `${where}: unknown field ${JSON.stringify(key)} (fields: host, container, ip, protocol)`,
        );
    const host = portNumber(`${where}.host`, p.host);
    const container = portNumber(`${where}.container`, p.container);
    const ip = p.ip ?? "127.0.0.1";
    if (typeof ip !== "string" || !isIp(ip))
      invalid(`${where}.ip: expected an IP address such as 127.0.0.1 or 0.0.0.0, got ${got(ip)}`);
    const protocol = p.protocol ?? "tcp";
    if (protocol !== "tcp" && protocol !== "udp")
      invalid(`${where}.protocol: expected "tcp" or "udp", got ${got(protocol)}`);
    return { host, container, ip, protocol };
  });
}

function argvOf(where: string, argv: unknown): string[] | undefined {
  if (argv === undefined) return undefined;
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== "string"))
    invalid(`${where}: expected a list of strings, got ${got(argv)}`);
  return [...(argv as string[])];
}

function durationOf(where: string, text: unknown): number | undefined {
  if (text === undefined) return undefined;
  const ms = typeof text === "string" ? durationMs(text) : undefined;
  // Docker refuses health check durations under 1ms (other than 0 for its default).
  if (ms === undefined || ms < 1)
    invalid(`${where}: expected a duration such as 500ms, 1s or 2m, got ${got(text)}`);
  return Math.round(ms);
}

function healthcheckOf(at: string, hc: unknown): DeclaredService["healthcheck"] {
  if (hc === undefined) return undefined;
  const where = `${at}: healthcheck`;
  if (!isRecord(hc)) invalid(`${where}: expected { test, ... }, got ${got(hc)}`);
  for (const key of Object.keys(hc))
    if (!["test", "interval", "timeout", "retries", "startPeriod"].includes(key))
      invalid(
        `${where}: unknown field ${JSON.stringify(key)} (fields: test, interval, timeout, retries, startPeriod)`,
      );
  let test: string[];
  if (typeof hc.test === "string") {
    if (hc.test.trim() === "") invalid(`${where}.test: the command is empty`);
    test = ["CMD-SHELL", hc.test];
  } else if (Array.isArray(hc.test) && hc.test.every((a) => typeof a === "string")) {
    if (hc.test.length === 0 || hc.test[0] === "") invalid(`${where}.test: the command is empty`);
    test = ["CMD", ...(hc.test as string[])];
  } else {
    invalid(
      `${where}.test: expected a list of strings (exec form) or a string (run by /bin/sh -c), got ${got(hc.test)}`,
    );
  }
  const out: NonNullable<DeclaredService["healthcheck"]> = { test };
  const intervalMs = durationOf(`${where}.interval`, hc.interval);
  if (intervalMs !== undefined) out.intervalMs = intervalMs;
  const timeoutMs = durationOf(`${where}.timeout`, hc.timeout);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (hc.retries !== undefined) {
    if (typeof hc.retries !== "number" || !Number.isInteger(hc.retries) || hc.retries < 1)
      invalid(`${where}.retries: expected a positive integer, got ${got(hc.retries)}`);
    out.retries = hc.retries;
  }
  const startPeriodMs = durationOf(`${where}.startPeriod`, hc.startPeriod);
  if (startPeriodMs !== undefined) out.startPeriodMs = startPeriodMs;
  return out;
}

function dependsOnOf(at: string, dependsOn: unknown): DeclaredService["dependsOn"] {
  if (dependsOn === undefined) return [];
  if (!isRecord(dependsOn))
    invalid(`${at}: dependsOn must be an object of names to conditions, got ${got(dependsOn)}`);
  return Object.keys(dependsOn)
    .sort(compare)
    .map((name) => {
      const condition = dependsOn[name];
      if (!(conditions as readonly unknown[]).includes(condition))
        invalid(
          `${at}: dependsOn${member(name)}: expected "started", "healthy" or "completed", got ${got(condition)}`,
        );
      return { name, condition: condition as DependsOnCondition };
    });
}

function restartOf(at: string, restart: unknown, byDefault: DeclaredService["restart"]) {
  if (restart === undefined) return byDefault;
  if (!(restarts as readonly unknown[]).includes(restart))
    invalid(`${at}: restart: expected one of ${restarts.join(", ")}, got ${got(restart)}`);
  return restart as DeclaredService["restart"];
}

function replicasOf(at: string, replicas: unknown): number {
  if (replicas === undefined) return 1;
  if (
    typeof replicas !== "number" ||
    !Number.isInteger(replicas) ||
    replicas < 1 ||
    replicas > 1000
  )
    invalid(`${at}: replicas: expected a whole number from 1 to 1000, got ${got(replicas)}`);
  return replicas;
}

const updateFields = ["order", "parallelism", "delay", "failureAction"];

function updateOf(at: string, update: unknown): DeclaredService["update"] {
  if (update === undefined) return undefined;
  const where = `${at}: update`;
  if (!isRecord(update))
    invalid(
      `${where}: expected { order?, parallelism?, delay?, failureAction? }, got ${got(update)}`,
    );
  for (const key of Object.keys(update))
    if (!updateFields.includes(key))
      invalid(
        `${where}: unknown field ${JSON.stringify(key)} (fields: ${updateFields.join(", ")})`,
      );
  const out: NonNullable<DeclaredService["update"]> = {};
  const { order, parallelism, delay, failureAction } = update;
  if (order !== undefined) {
    if (order !== "start-first" && order !== "stop-first")
      invalid(`${where}.order: expected "start-first" or "stop-first", got ${got(order)}`);
    out.order = order;
  }
  if (parallelism !== undefined) {
    if (typeof parallelism !== "number" || !Number.isSafeInteger(parallelism) || parallelism < 0)
      invalid(
        `${where}.parallelism: expected a whole number, 0 or more (0: all at once), got ${got(parallelism)}`,
      );
    out.parallelism = parallelism;
  }
  if (delay !== undefined) {
    // Unlike a health check's durations, 0s is a delay Docker takes: none between batches.
    const ms = typeof delay === "string" ? durationMs(delay) : undefined;
    if (ms === undefined)
      invalid(`${where}.delay: expected a duration such as 500ms, 1s or 2m, got ${got(delay)}`);
    out.delayMs = Math.round(ms);
  }
  if (failureAction !== undefined) {
    if (failureAction !== "rollback" && failureAction !== "pause")
      invalid(`${where}.failureAction: expected "rollback" or "pause", got ${got(failureAction)}`);
    out.failureAction = failureAction;
  }
  return out;
}

/*
 * What swarmkit's constraint parser accepts (manager/constraint/constraint.go): the first
 * of "==" then "!=" found splits the text; both sides are trimmed; the key must match
 * `^(?i)[a-z_][a-z0-9\-_.]+$` and the value `^(?i)[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$`.
 * Anything else fails the service create, after the images were built and pushed. A key
 * outside node.* and engine.labels.* parses but matches no node, so the tasks would wait
 * for ever.
 */
const constraintKey = /^[a-z_][a-z0-9\-_.]+$/i;
// Go's \s: no Unicode spaces, unlike JavaScript's.
const constraintValue = /^[a-z0-9:\-_\t\n\f\r .*()?+[\]\\^$|/]+$/i;
const constraintForm = '"<attribute> == <value>" or "<attribute> != <value>"';

function placementOf(at: string, placement: unknown): string[] {
  if (placement === undefined) return [];
  if (!Array.isArray(placement))
    invalid(
      `${at}: placement: expected a list of constraints such as "node.role == manager", got ${got(placement)}`,
    );
  return placement.map((constraint: unknown, i) => {
    const where = `${at}: placement[${i}]`;
    if (typeof constraint !== "string")
      invalid(`${where}: expected ${constraintForm}, got ${got(constraint)}`);
    const op = ["==", "!="].find((o) => constraint.includes(o));
    if (!op) invalid(`${where}: expected ${constraintForm}, got ${got(constraint)}`);
    const split = constraint.indexOf(op);
    const key = constraint.slice(0, split).trim();
    const value = constraint.slice(split + op.length).trim();
    const prefix = ["node.labels.", "engine.labels.", "node."].find((p) =>
      key.toLowerCase().startsWith(p),
    );
    if (key === "") invalid(`${where}: no attribute before ${op}`);
    if (!prefix || key.length === prefix.length)
      invalid(
        `${where}: ${JSON.stringify(key)} is not a node attribute; use node.role, node.hostname, node.id, node.platform.os, node.platform.arch, node.labels.NAME or engine.labels.NAME`,
      );
    if (!constraintKey.test(key))
      invalid(
        `${where}: attribute ${JSON.stringify(key)} may hold only letters, digits, -, _ and .`,
      );
    if (value === "") invalid(`${where}: no value after ${op}`);
    if (!constraintValue.test(value))
      invalid(
        `${where}: value ${JSON.stringify(value)} holds a character swarm refuses (it takes letters, digits, spaces and : - _ . * ( ) ? + [ ] \\ ^ $ | /)`,
      );
    return `${key}${op}${value}`;
  });
}

function checkDependsOn(declared: Map<string, DeclaredService>): void {
  for (const s of declared.values()) {
    const at = `${s.kind} "${s.name}"`;
    for (const { name, condition } of s.dependsOn) {
      const where = `${at}: dependsOn "${name}"`;
      if (name === s.name) invalid(`${at}: dependsOn itself`);
      const target = declared.get(name);
      if (!target) {
        const others = [...declared.keys()].filter((n) => n !== s.name).sort(compare);
        invalid(
          `${where}: no service or job of that name (declared: ${others.join(", ") || "none"})`,
        );
      }
      if (condition === "completed" && target.kind !== "job")
        invalid(
          `${where}: "completed" is for jobs, and "${name}" is a service (use "started" or "healthy")`,
        );
      if (condition === "healthy" && target.kind === "job")
        invalid(`${where}: "healthy" is for services, and "${name}" is a job (use "completed")`);
      if (condition === "healthy" && !target.healthcheck)
        invalid(
          `${where}: service "${name}" has no healthcheck to be healthy by (give it one, or use "started")`,
        );
    }
  }
}

/** The first cycle met walking services in declaration order, as `a -> b -> a`. */
function checkCycles(services: DeclaredService[], declared: Map<string, DeclaredService>): void {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (s: DeclaredService): void => {
    if (done.has(s.name)) return;
    const at = path.indexOf(s.name);
    if (at >= 0) invalid(`dependsOn cycle: ${[...path.slice(at), s.name].join(" -> ")}`);
    path.push(s.name);
    for (const d of s.dependsOn) visit(declared.get(d.name)!);
    path.pop();
    done.add(s.name);
  };
  for (const s of services) visit(s);
}

/**
 * Two services cannot bind one host port: Docker would fail the second at start, after the
 * first was already replaced. A wildcard address (0.0.0.0, ::) takes the port on every
 * address.
 */
function checkPorts(services: DeclaredService[]): void {
  const wildcard = (ip: string) => ip === "0.0.0.0" || ip === "::";
  const bound: { service: string; ip: string; host: number; protocol: string }[] = [];
  for (const s of services)
    for (const p of s.ports) {
      const clash = bound.find(
        (b) =>
          b.host === p.host &&
          b.protocol === p.protocol &&
          (b.ip === p.ip || wildcard(b.ip) || wildcard(p.ip)),
      );
      if (clash) {
        const shownAddr = (ip: string) => (ip.includes(":") ? `[${ip}]` : ip);
        const what = `${shownAddr(p.ip)}:${p.host}/${p.protocol}`;
        invalid(
          clash.service === s.name
            ? `service "${s.name}": publishes ${what} twice`
            : clash.ip === p.ip
              ? `services "${clash.service}" and "${s.name}" both publish ${what}`
              : `services "${clash.service}" (${shownAddr(clash.ip)}:${clash.host}/${clash.protocol}) and "${s.name}" (${what}) both take host port ${p.host}`,
        );
      }
      bound.push({ service: s.name, ip: p.ip, host: p.host, protocol: p.protocol });
    }
}
