/**
 * The logs of an app's services, merged. Without follow, every line so far in time order;
 * with follow, the same first, then lines as they come, and when a service's container is
 * replaced (`hln up` recreated it) the new container is followed from its start, so
 * `hln logs -f` outlives a deploy as `docker compose logs -f` does not. A follow ends on
 * the signal, or when the app has no containers left (removed by `hln down`).
 */
import { type DockerClient, httpStatus } from "../docker/client.js";
import { containerLogs, type LogLine } from "../docker/containers.js";
import { HlnError } from "../errors.js";
import { type ObservedContainer, observeApp } from "./observe.js";
import { currentContainers } from "./status.js";

export interface AppLogLine {
  service: string;
  stream: "stdout" | "stderr";
  text: string;
  /** RFC3339Nano, as Docker gives it. */
  time?: string;
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
  const observed = await observeApp(docker, app, signal);
  const wanted = options.services?.length ? options.services : undefined;
  if (wanted) {
    const known = [...new Set(observed.containers.map((c) => c.service))].sort();
    const unknown = wanted.filter((s) => !known.includes(s));
    if (unknown.length > 0)
      throw new HlnError(
        "E_USAGE",
        `app ${app} has no service ${unknown.map((s) => `"${s}"`).join(", ")} (services: ${known.join(", ") || "none"})`,
      );
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

function merged(all: AppLogLine[][]): AppLogLine[] {
  // A stable sort keeps each container's own order for lines of the same instant.
  return all.flat().sort((a, b) => compareTimes(a.time, b.time));
}

function appLine(service: string, l: LogLine): AppLogLine {
  return {
    service,
    stream: l.stream,
    text: l.text,
    ...(l.time === undefined ? {} : { time: l.time }),
  };
}

/**
 * Docker writes RFC3339Nano times, whose fraction may lose its trailing zeros; padded to
 * nine digits they compare as text in time order.
 */
export function timeKey(time: string | undefined): string {
  if (!time) return "";
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return time;
  if (m[3] !== "Z") {
    const ms = Date.parse(time);
    if (Number.isNaN(ms)) return time;
    return timeKey(`${new Date(ms).toISOString().slice(0, 19)}.${(m[2] ?? "").padEnd(9, "0")}Z`);
  }
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0").slice(0, 9)}Z`;
}

export function compareTimes(a: string | undefined, b: string | undefined): number {
  const x = timeKey(a);
  const y = timeKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A queue of lines that several producers push to and one reader drains. */
class LineQueue {
  #items: AppLogLine[] = [];
  #failure: unknown;
  #wake: (() => void) | undefined;
  #closed = false;

  push(line: AppLogLine): void {
    this.#items.push(line);
    this.#notify();
  }

  fail(err: unknown): void {
    this.#failure ??= err;
    this.#notify();
  }

  notify(): void {
    this.#notify();
  }

  /** No more lines will come: take hands out what is left, then undefined. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Hands out what is queued; waits for more when nothing is; undefined once closed and empty. */
  async take(): Promise<AppLogLine[] | undefined> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#items.length === 0 && !this.#closed) await new Promise<void>((r) => (this.#wake = r));
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#items.length === 0 && this.#closed) return undefined;
    const items = this.#items;
    this.#items = [];
    return items;
  }
}

/**
 * Where reading a container's log stopped: the time of its last line read, and the lines
 * read at that very time. Docker's `since` keeps lines at that time too, so those lines
 * are what a stream opened from there must not print again.
 */
interface Seam {
  last?: string;
  atLast: string[];
}

/** What is followed of one service: its container, and how far it was read. */
interface Followed extends Seam {
  id: string;
  /** True while a log stream of the container is open. */
  open: boolean;
}

function seamOf(lines: readonly AppLogLine[]): Seam {
  const last = lines.at(-1)?.time;
  if (last === undefined) return { atLast: [] };
  const key = timeKey(last);
  return {
    last,
    atLast: lines.filter((l) => timeKey(l.time) === key).map(seamText),
  };
}

function seamText(l: { stream: string; text: string }): string {
  return `${l.stream}\0${l.text}`;
}

/**
 * Docker's `since` for a line's time: Unix seconds with a fraction (Docker reads up to
 * nine digits), cut to microseconds so that the number prints exactly and never passes
 * the line; what it lets through again is dropped at the seam.
 */
export function sinceOf(time: string): number | undefined {
  const key = timeKey(time);
  const seconds = Date.parse(`${key.slice(0, 19)}Z`) / 1000;
  if (Number.isNaN(seconds)) return undefined;
  return Number(`${seconds}.${key.slice(20, 26)}`);
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
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  const queue = new LineQueue();
  const onAbort = () => queue.notify();
  signal.addEventListener("abort", onAbort, { once: true });
  const services = new Map<string, Followed>();

  /** Follows a container from `from`, or on from where `seam` says it was read. */
  const follow = (c: ObservedContainer, from: { since?: number; tail?: number }, seam?: Seam) => {
    const f: Followed = { id: c.id, open: true, atLast: [] };
    services.set(c.service, f);
    const since = seam?.last === undefined ? undefined : sinceOf(seam.last);
    const skip = since === undefined ? undefined : { last: seam!.last!, atLast: [...seam!.atLast] };
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
        })) {
          if (skip) {
            const order = compareTimes(l.time, skip.last);
            if (order < 0) continue;
            if (order === 0) {
              const i = skip.atLast.indexOf(seamText(l));
              if (i >= 0) {
                skip.atLast.splice(i, 1);
                continue;
              }
            }
          }
          if (l.time !== undefined) {
            if (f.last !== undefined && timeKey(l.time) === timeKey(f.last))
              f.atLast.push(seamText(l));
            else f.atLast = [seamText(l)];
            f.last = l.time;
          }
          queue.push(appLine(c.service, l));
        }
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
  const pollMs = o.pollMs ?? 1000;
  const poll = (async () => {
    while (!signal.aborted) {
      await sleep(pollMs, signal);
      if (signal.aborted) return;
      let all: ObservedContainer[];
      try {
        all = (await observeApp(docker, app, signal)).containers;
      } catch (err) {
        if (!signal.aborted) queue.fail(err);
        return;
      }
      // `hln down` (or anyone) removed the app: nothing will ever be printed again.
      if (all.length === 0) {
        queue.close();
        return;
      }
      for (const c of pick(all)) {
        const f = services.get(c.service);
        if (!f || f.id !== c.id) follow(c, {});
        else if (!f.open && (c.state === "running" || c.state === "restarting")) {
          // Restarted in place (its restart policy): read on from the last line seen.
          if (f.last !== undefined) follow(c, {}, f);
          else follow(c, {});
        }
      }
    }
  })();

  try {
    while (!signal.aborted) {
      let lines: AppLogLine[] | undefined;
      try {
        lines = await queue.take();
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (signal.aborted) return;
      if (lines === undefined) return;
      yield* lines;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Every stream and the poll end with the reader, however it stops.
    stop.abort();
    await poll.catch(() => undefined);
  }
}

/**
 * A container removed while its log was read, or just before: Docker answers 404, or 409
 * ("dead or marked for removal") for one it is removing.
 */
function isGone(err: unknown): boolean {
  const status = httpStatus(err);
  return status === 404 || status === 409;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
