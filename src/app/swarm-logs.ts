/**
 * The logs of an app's services on a swarm, merged. The manager gathers each service's
 * lines from every task on every node (`GET /services/{id}/logs`); asked for details, it
 * puts the task's identity before each line, which is how a line is told to come from
 * `api.1@node-a`. Without follow, every line so far in time order; with follow the same,
 * then lines as they come, until the signal or until the app has no services left.
 */
import type { DockerClient } from "../docker/client.js";
import { serviceLogs } from "../docker/services.js";
import { listTasks, type TaskDetails } from "../docker/tasks.js";
import type { AppLogLine, AppLogsOptions } from "./app-logs.js";
import {
  checkWanted,
  following,
  isGone,
  merged,
  readOn,
  resumeAt,
  type Seam,
  seamOf,
} from "./log-merge.js";
import { type ObservedService, type ObservedSwarmApp, observeSwarmApp } from "./swarm-observe.js";
import { currentTasks, nodeHostnames } from "./swarm-status.js";

/** The details Docker puts before a line of a swarm service's log (moby's swarm log context). */
export const detailKeys = {
  node: "com.docker.swarm.node.id",
  service: "com.docker.swarm.service.id",
  task: "com.docker.swarm.task.id",
} as const;

/**
 * Splits a log line asked for with details into them and the text. Docker writes them as
 * `k=v,k=v` (each side query-escaped, keys sorted), one space, then the line; with no
 * details the line starts with that one space (moby api/server/httputils/write_log_stream.go).
 *
 * @example
 * parseDetails("com.docker.swarm.node.id=n1,com.docker.swarm.task.id=t1 hello");
 * // { details: { "com.docker.swarm.node.id": "n1", "com.docker.swarm.task.id": "t1" }, text: "hello" }
 */
export function parseDetails(line: string): { details: Record<string, string>; text: string } {
  const space = line.indexOf(" ");
  const head = space < 0 ? line : line.slice(0, space);
  const pairs = head === "" ? [] : head.split(",");
  if (!pairs.every((p) => /^[^=\s]+=/.test(p))) return { details: {}, text: line };
  const details: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    details[queryUnescape(p.slice(0, eq))] = queryUnescape(p.slice(eq + 1));
  }
  return { details, text: space < 0 ? "" : line.slice(space + 1) };
}

/** Go's url.QueryUnescape: `+` is a space. */
function queryUnescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/**
 * Names a line's source `api.1@node-a` from its task and node, as it learns them: the
 * swarm's tasks and nodes are read again when a line names a task not seen yet (a task
 * an update or a restart made), at most once a second.
 */
export class TaskNamer {
  #tasks = new Map<string, TaskDetails>();
  #hostnames = new Map<string, string>();
  #readAt = 0;
  readonly #docker: DockerClient;
  readonly #services: string[];

  constructor(docker: DockerClient, services: readonly string[]) {
    this.#docker = docker;
    this.#services = [...services];
  }

  async refresh(signal?: AbortSignal, force = false): Promise<void> {
    if (!force && Date.now() - this.#readAt < 1000) return;
    this.#readAt = Date.now();
    if (this.#services.length === 0) return;
    const [tasks, hostnames] = await Promise.all([
      listTasks(this.#docker, { services: this.#services, signal }),
      nodeHostnames(this.#docker, signal),
    ]);
    for (const t of tasks) this.#tasks.set(t.ID, t);
    this.#hostnames = hostnames;
  }

  /** The names of the services' current tasks, for the width of the prefixes. */
  current(service: (id: string) => string): string[] {
    const byService = new Map<string, TaskDetails[]>();
    for (const t of this.#tasks.values())
      byService.set(t.ServiceID, [...(byService.get(t.ServiceID) ?? []), t]);
    return [...byService.entries()].flatMap(([id, tasks]) =>
      currentTasks(tasks).map(({ task }) =>
        sourceName(service(id), task.Slot, this.#hostname(task.NodeID ?? "")),
      ),
    );
  }

  async name(
    service: string,
    details: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<string> {
    const taskId = details[detailKeys.task] ?? "";
    if (taskId && !this.#tasks.has(taskId)) await this.refresh(signal).catch(() => undefined);
    const task = this.#tasks.get(taskId);
    const node = details[detailKeys.node] ?? task?.NodeID ?? "";
    return sourceName(service, task?.Slot, this.#hostname(node));
  }

  #hostname(node: string): string {
    return this.#hostnames.get(node) ?? node.slice(0, 12);
  }
}

/** `api.1@node-a`; a global service's task has no slot: `api@node-a`. */
export function sourceName(service: string, slot: number | undefined, node: string): string {
  const task = slot !== undefined && slot > 0 ? `${service}.${slot}` : service;
  return node ? `${task}@${node}` : task;
}

/** The current tasks' names of the services `hln logs` will print, for its prefixes. */
export async function swarmLogSources(
  docker: DockerClient,
  observed: ObservedSwarmApp,
  services: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const picked = pick(observed, services);
  const namer = new TaskNamer(
    docker,
    picked.map((s) => s.id),
  );
  await namer.refresh(signal, true);
  const byId = new Map(picked.map((s) => [s.id, s.service]));
  return namer.current((id) => byId.get(id) ?? "").sort();
}

function pick(observed: ObservedSwarmApp, services: readonly string[]): ObservedService[] {
  if (services.length === 0) return observed.services;
  checkWanted(
    observed.app,
    observed.services.map((s) => s.service),
    services,
  );
  return observed.services.filter((s) => services.includes(s.service));
}

export async function* swarmAppLogs(
  docker: DockerClient,
  observed: ObservedSwarmApp,
  o: AppLogsOptions,
): AsyncIterable<AppLogLine> {
  const wanted = o.services ?? [];
  const first = pick(observed, wanted);
  const namer = new TaskNamer(
    docker,
    first.map((s) => s.id),
  );
  await namer.refresh(o.signal, true);
  const before =
    o.follow && o.tail === 0
      ? first.map(() => [])
      : await Promise.all(
          first.map(async (s) => {
            const lines: AppLogLine[] = [];
            for await (const l of read(
              docker,
              namer,
              s,
              { since: o.since, tail: o.tail },
              o.signal,
            ))
              lines.push(l);
            return lines;
          }),
        );
  for (const line of merged(before)) {
    if (o.signal?.aborted) return;
    yield line;
  }
  if (!o.follow) return;
  yield* followed(docker, observed.app, first, before, wanted, o);
}

/** One service's log as app lines: details parsed off, the source named. */
async function* read(
  docker: DockerClient,
  namer: TaskNamer,
  s: ObservedService,
  from: { since?: number; tail?: number; follow?: boolean },
  signal?: AbortSignal,
): AsyncIterable<AppLogLine> {
  for await (const l of serviceLogs(docker, s.id, {
    ...(from.since === undefined ? {} : { since: from.since }),
    ...(from.tail === undefined ? {} : { tail: from.tail }),
    follow: from.follow === true,
    timestamps: true,
    signal,
  })) {
    const { details, text } = parseDetails(l.text);
    yield {
      service: s.service,
      stream: l.stream,
      text,
      ...(l.time === undefined ? {} : { time: l.time }),
      source: await namer.name(s.service, details, signal),
    };
  }
}

/** What is followed of one service, and how far it was read. */
interface Followed extends Seam {
  open: boolean;
}

async function* followed(
  docker: DockerClient,
  app: string,
  first: readonly ObservedService[],
  before: readonly AppLogLine[][],
  wanted: readonly string[],
  o: AppLogsOptions,
): AsyncIterable<AppLogLine> {
  yield* following<AppLogLine>(o, async (queue, signal) => {
    const streams = new Map<string, Followed>();
    const namer = new TaskNamer(
      docker,
      first.map((s) => s.id),
    );

    /**
     * Follows a service from where `seam` says it was read, else from `from`. One stream
     * covers every task of the service, those an update or a restart makes later included.
     */
    const follow = (s: ObservedService, from: { since?: number; tail?: number }, seam?: Seam) => {
      const { since, skip } = resumeAt(seam);
      const f: Followed = {
        open: true,
        atLast: skip ? [...skip.atLast] : [],
        ...(skip ? { last: skip.last } : {}),
      };
      streams.set(s.id, f);
      void (async () => {
        try {
          for await (const l of read(
            docker,
            namer,
            s,
            { ...(skip ? { since } : from), follow: true },
            signal,
          ))
            if (readOn(l, skip, f)) queue.push(l);
        } catch (err) {
          // The service went away under the stream: the poll finds whether the app did.
          if (!signal.aborted && !isGone(err)) queue.fail(err);
        } finally {
          f.open = false;
        }
      })();
    };

    await namer.refresh(signal, true).catch(() => undefined);
    first.forEach((s, i) => {
      const seam = seamOf(before[i] ?? []);
      if (seam.last !== undefined) follow(s, {}, seam);
      // Swarm reads a tail of 0 as "nothing, ever" when following (Docker 26): from now on
      // is what it means for a container's log.
      else if (o.tail === 0) follow(s, { since: o.since ?? Date.now() / 1000 });
      else follow(s, { since: o.since, tail: o.tail });
    });
    return async () => {
      const now = await observeSwarmApp(docker, app, signal);
      if (now.services.length === 0) return false;
      for (const s of now.services) {
        if (wanted.length > 0 && !wanted.includes(s.service)) continue;
        const f = streams.get(s.id);
        // A service made since (a new one, or one removed and made again), or a stream
        // the engine ended while the service stays: read on from the last line seen.
        if (!f) follow(s, {});
        else if (!f.open) follow(s, {}, f.last === undefined ? undefined : f);
      }
      return true;
    };
  });
}
