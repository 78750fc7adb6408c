/**
 * What merging and following logs needs, whatever they come from (containers on one
 * engine, services on a swarm): Docker's times in order, a queue several streams feed one
 * reader from, and the seam where a followed stream picks up from a backlog.
 */

import { httpStatus } from "../docker/client.js";
import { HlnError } from "../errors.js";

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

export function merged<T extends { time?: string }>(all: T[][]): T[] {
  // A stable sort keeps each container's own order for lines of the same instant.
  return all.flat().sort((a, b) => compareTimes(a.time, b.time));
}

/** A queue of lines that several producers push to and one reader drains. */
export class LineQueue<T> {
  #items: T[] = [];
  #failure: unknown;
  #wake: (() => void) | undefined;
  #closed = false;

  push(line: T): void {
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
  async take(): Promise<T[] | undefined> {
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
export interface Seam {
  last?: string;
  atLast: string[];
}

export function seamOf(lines: readonly { time?: string; stream: string; text: string }[]): Seam {
  const last = lines.at(-1)?.time;
  if (last === undefined) return { atLast: [] };
  const key = timeKey(last);
  return {
    last,
    atLast: lines.filter((l) => timeKey(l.time) === key).map(seamText),
  };
}

export function seamText(l: { stream: string; text: string }): string {
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

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

/**
 * Where a stream opened on from a seam starts: Docker's `since` for the seam's time, and
 * the seam itself, whose lines `readOn` drops. Neither when there is no seam (or its time
 * does not parse): the stream then starts wherever its caller says.
 */
export function resumeAt(seam: Seam | undefined): { since?: number; skip?: Seam } {
  const since = seam?.last === undefined ? undefined : sinceOf(seam.last);
  if (since === undefined) return {};
  return { since, skip: { last: seam!.last!, atLast: [...seam!.atLast] } };
}

/**
 * Whether a line of a stream opened at `skip` is new: false for one the backlog gave
 * already (before the seam, or at its time and read there, each such line dropped once).
 * A new line moves `read` on to it, so the stream can be opened again from there.
 */
export function readOn(
  l: { time?: string; stream: string; text: string },
  skip: Seam | undefined,
  read: Seam,
): boolean {
  if (skip) {
    const order = compareTimes(l.time, skip.last);
    if (order < 0) return false;
    if (order === 0) {
      const i = skip.atLast.indexOf(seamText(l));
      if (i >= 0) {
        skip.atLast.splice(i, 1);
        return false;
      }
    }
  }
  if (l.time !== undefined) {
    if (read.last !== undefined && timeKey(l.time) === timeKey(read.last))
      read.atLast.push(seamText(l));
    else read.atLast = [seamText(l)];
    read.last = l.time;
  }
  return true;
}

/**
 * Follows logs: `open` opens the streams and returns the poll, which runs every `pollMs`
 * (default 1000) to open those of containers or services made since. The streams push to
 * one queue, whose lines are yielded until the signal, a failure, or the poll saying the
 * app is gone (false). Both get the signal that ends them when the reader stops.
 */
export async function* following<T>(
  o: { signal?: AbortSignal; pollMs?: number },
  open: (queue: LineQueue<T>, signal: AbortSignal) => Poll | Promise<Poll>,
): AsyncIterable<T> {
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  const queue = new LineQueue<T>();
  const onAbort = () => queue.notify();
  signal.addEventListener("abort", onAbort, { once: true });
  const polling = (async () => {
    let poll: Poll;
    try {
      poll = await open(queue, signal);
    } catch (err) {
      if (!signal.aborted) queue.fail(err);
      return;
    }
    const pollMs = o.pollMs ?? 1000;
    while (!signal.aborted) {
      await sleep(pollMs, signal);
      if (signal.aborted) return;
      let more: boolean;
      try {
        more = await poll();
      } catch (err) {
        if (!signal.aborted) queue.fail(err);
        return;
      }
      // `hln down` (or anyone) removed the app: nothing will ever be printed again.
      if (!more) {
        queue.close();
        return;
      }
    }
  })();

  try {
    while (!signal.aborted) {
      let lines: T[] | undefined;
      try {
        lines = await queue.take();
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (signal.aborted || lines === undefined) return;
      yield* lines;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Every stream and the poll end with the reader, however it stops.
    stop.abort();
    await polling.catch(() => undefined);
  }
}

/** Opens the streams of what was made since the last poll; false once the app is gone. */
export type Poll = () => Promise<boolean>;

/**
 * A container or service removed while its log was read, or just before: Docker answers
 * 404, or 409 ("dead or marked for removal") for one it is removing.
 */
export function isGone(err: unknown): boolean {
  const status = httpStatus(err);
  return status === 404 || status === 409;
}

/** Refuses `hln logs SERVICE...` naming a service the app does not have. */
export function checkWanted(
  app: string,
  known: readonly string[],
  wanted: readonly string[],
): void {
  const unknown = wanted.filter((s) => !known.includes(s));
  if (unknown.length > 0)
    throw new HlnError(
      "E_USAGE",
      `app ${app} has no service ${unknown.map((s) => `"${s}"`).join(", ")} (services: ${known.join(", ") || "none"})`,
    );
}
