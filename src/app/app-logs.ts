/**
 * The logs of an app's services, merged. Without follow, every line so far in time order;
 * with follow, the same first, then lines as they come, and when a service's container is
 * replaced (`hln up` recreated it) the new container is followed from its start, so
 * `hln logs -f` outlives a deploy as `docker compose logs -f` does not. A follow ends on
 * the signal, or when the app has no containers left (removed by `hln down`).
 */
import type { DockerClient } from "../docker/client.js";
import { containerLogs, type LogLine } from "../docker/containers.js";
import {
  checkWanted,
  compareTimes,
  following,
  isGone,
  merged,
  readOn,
  resumeAt,
  type Seam,
  seamOf,
  sinceOf,
  timeKey,
} from "./log-merge.js";
import { type ObservedContainer, observeApp } from "./observe.js";
import { currentContainers } from "./status.js";
import { findSwarmApp } from "./swarm-app.js";
import { swarmAppLogs } from "./swarm-logs.js";

export { compareTimes, sinceOf, timeKey };

export interface AppLogLine {
  service: string;
  stream: "stdout" | "stderr";
  text: string;
  /** RFC3339Nano, as Docker gives it. */
  time?: string;
  /** On a swarm: the task and node the line came from, `api.1@node-a`. */
  source?: string;
}

export interface AppLogsOptions {
  /** Only these services (all when absent or empty). */
  services?: string[];
  follow?: boolean;
  /** Unix seconds: lines from then on. */
  since?: number;
  /** The last N lines of each service (before following). */
  tail?: number;
  signal?: AbortSignal;
  /** While following, how often the engine is asked whether a container was replaced. Default 1000 ms. */
  pollMs?: number;
}

export async function* appLogs(
  docker: DockerClient,
  app: string,
  options: AppLogsOptions,
): AsyncIterable<AppLogLine> {
  const { signal } = options;
  const swarm = await findSwarmApp(docker, app, signal);
  if (swarm) {
    yield* swarmAppLogs(docker, swarm, options);
    return;
  }
  const observed = await observeApp(docker, app, signal);
  const wanted = options.services?.length ? options.services : undefined;
  if (wanted) {
    checkWanted(app, [...new Set(observed.containers.map((c) => c.service))].sort(), wanted);
  }
  const pick = (cs: readonly ObservedContainer[]) =>
    currentContainers(cs).filter((c) => !wanted || wanted.includes(c.service));
  const first = pick(observed.containers);
  if (!options.follow) {
    yield* mergedByTime(docker, first, options);
    return;
  }
  yield* followed(docker, app, first, pick, options);
}

/** Every line so far of each container, merged in time order. */
async function* mergedByTime(
  docker: DockerClient,
  containers: readonly ObservedContainer[],
  o: AppLogsOptions,
): AsyncIterable<AppLogLine> {
  yield* merged(await backlogs(docker, containers, o));
}

/** What each container logged so far (within since and tail), in its own order. */
function backlogs(
  docker: DockerClient,
  containers: readonly ObservedContainer[],
  o: AppLogsOptions,
): Promise<AppLogLine[][]> {
  return Promise.all(
    containers.map(async (c) => {
      const lines: AppLogLine[] = [];
      for await (const l of containerLogs(docker, c.id, {
        since: o.since,
        tail: o.tail,
        timestamps: true,
        signal: o.signal,
      }))
        lines.push(appLine(c.service, l));
      return lines;
    }),
  );
}

function appLine(service: string, l: LogLine): AppLogLine {
  return {
    service,
    stream: l.stream,
    text: l.text,
    ...(l.time === undefined ? {} : { time: l.time }),
  };
}

/** What is followed of one service: its container, and how far it was read. */
interface Followed extends Seam {
  id: string;
  /** True while a log stream of the container is open. */
  open: boolean;
}

async function* followed(
  docker: DockerClient,
  app: string,
  first: readonly ObservedContainer[],
  pick: (cs: readonly ObservedContainer[]) => ObservedContainer[],
  o: AppLogsOptions,
): AsyncIterable<AppLogLine> {
  // What was logged before is printed first, merged in time order as without -f; the
  // streams opened after it start where each container's backlog ended.
  const before = o.tail === 0 ? first.map(() => []) : await backlogs(docker, first, o);
  for (const line of merged(before)) {
    if (o.signal?.aborted) return;
    yield line;
  }
  yield* following<AppLogLine>(o, (queue, signal) => {
    const services = new Map<string, Followed>();

    /** Follows a container from `from`, or on from where `seam` says it was read. */
    const follow = (c: ObservedContainer, from: { since?: number; tail?: number }, seam?: Seam) => {
      const { since, skip } = resumeAt(seam);
      const f: Followed = { id: c.id, open: true, atLast: [] };
      services.set(c.service, f);
      if (skip) {
        f.last = skip.last;
        f.atLast = [...skip.atLast];
      }
      void (async () => {
        try {
          for await (const l of containerLogs(docker, c.id, {
            follow: true,
            timestamps: true,
            ...(skip ? { since } : from),
            signal,
          }))
            if (readOn(l, skip, f)) queue.push(appLine(c.service, l));
        } catch (err) {
          // The container went away under the stream: its replacement, if any, is found by the poll.
          if (!signal.aborted && !isGone(err)) queue.fail(err);
        } finally {
          f.open = false;
        }
      })();
    };

    first.forEach((c, i) => {
      const seam = seamOf(before[i]!);
      if (seam.last !== undefined) follow(c, {}, seam);
      else follow(c, { since: o.since, tail: o.tail });
    });
    return async () => {
      const all = (await observeApp(docker, app, signal)).containers;
      if (all.length === 0) return false;
      for (const c of pick(all)) {
        const f = services.get(c.service);
        if (!f || f.id !== c.id) follow(c, {});
        else if (!f.open && (c.state === "running" || c.state === "restarting")) {
          // Restarted in place (its restart policy): read on from the last line seen.
          if (f.last !== undefined) follow(c, {}, f);
          else follow(c, {});
        }
      }
      return true;
    };
  });
}
