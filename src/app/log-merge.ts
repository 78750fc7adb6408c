/**
 * What merging and following logs needs, whatever they come from (containers on one
 * engine, services on a swarm): Docker's times in order, a queue several streams feed one
 * reader from, and the seam where a followed stream picks up from a backlog.
 */

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
