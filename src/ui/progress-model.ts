/**
 * The progress model: every `SolveStatus` message of every solve on a session folded into one
 * display state. Pure data in, pure data out; the renderers (tty, plain, json, quiet) only read
 * it. Modelled on BuildKit's `util/progress/progressui/display.go` (`trace.update`).
 *
 * Merging rules, and the BuildKit facts they rest on:
 * - Vertices merge by digest. Several solves on one session report a shared vertex under the
 *   same digest, and each execution ("run") of a vertex is sent as a started update, then a
 *   completed update with the same `started` (solver/jobs.go `notifyStarted`). So, like
 *   progressui's `intervals` map, runs are keyed by their start time: duplicates from two solves
 *   collapse into one run, and out-of-order delivery cannot reopen a finished run.
 * - A vertex's `started` is its earliest run's start, `completed` its latest run's end, and it
 *   is complete only when no run is open. A later update without `started` (the "pending"
 *   announcement each solve sends when it loads the vertex) never resets a run.
 * - `cached` and `error` come from the latest run (by start time): a source op first runs a
 *   cache-key request (cached=false), then loads from cache (cached=true), and progressui shows
 *   such a vertex as CACHED. A vertex is never cached unless BuildKit reported it so.
 * - Progress counters merge by (vertex, id); an update older than the one held is ignored.
 * - Logs are split into lines per (vertex, stream); a per-vertex tail of the last N lines is kept.
 */

import type {
  SolveStatus,
  VertexLogChunk,
  VertexProgress,
  VertexUpdate,
  VertexWarningEntry,
} from "../buildkit/solve-status.js";
import { createLineSplitter, type LineSplitter } from "./log-lines.js";

export type LogStream = "stdout" | "stderr";

/** Lifecycle of a vertex as shown to users. */
export type VertexPhase = "pending" | "running" | "done" | "cached" | "error" | "canceled";

/** One complete line of a step's output. */
export interface LogLine {
  digest: string;
  stream: LogStream;
  /** Without the trailing newline. Raw: may hold `\r` and escape codes. */
  line: string;
  /** BuildKit's timestamp (epoch ms) of the chunk that started the line. */
  timestamp: number;
}

/** A progress counter of a vertex (bytes pulled, files sent), merged by (vertex, id). */
export interface ProgressItemState {
  readonly vertex: string;
  readonly id: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
  /** Epoch ms of BuildKit's last update. */
  readonly timestamp: number;
  readonly started: number | undefined;
  readonly completed: number | undefined;
}

export interface WarningState {
  readonly vertex: string;
  readonly level: number;
  readonly short: string;
  readonly detail: readonly string[];
  readonly url: string | undefined;
}

/** The merged state of one vertex. Times are epoch milliseconds on BuildKit's clock. */
export interface VertexState {
  readonly digest: string;
  readonly name: string;
  readonly inputs: readonly string[];
  /** Order of first appearance (0-based) among all vertices of the session. */
  readonly index: number;
  readonly phase: VertexPhase;
  readonly cached: boolean;
  /** Start of the earliest run. */
  readonly started: number | undefined;
  /** Start of the latest run (log timestamps are relative to it). */
  readonly lastStarted: number | undefined;
  /** End of the latest run; undefined while any run is open or none has started. */
  readonly completed: number | undefined;
  /** BuildKit's error text of the latest run, if it failed. */
  readonly error: string | undefined;
  readonly progress: readonly ProgressItemState[];
  readonly warnings: readonly WarningState[];
  /** The last complete log lines (both streams, arrival order), at most `logTailLines`. */
  readonly logTail: readonly string[];
  /** The unterminated line most recently written to, raw. */
  readonly logPartial: string;
  /** Bytes of log received. */
  readonly logBytes: number;
  /** Increases each time this vertex logs; orders vertices by recent activity. 0: never. */
  readonly logSeq: number;
}

export interface ProgressCounts {
  total: number;
  /** Finished in any way: done, cached, error or canceled. */
  completed: number;
  cached: number;
  /** Failed, not counting canceled. */
  errored: number;
  canceled: number;
  running: number;
  pending: number;
}

/** What one `applyStatus` changed, for renderers that print events rather than frames. */
export interface ProgressDelta {
  /** Vertices whose name, phase, times, cached flag or error changed; in order of appearance. */
  vertices: VertexState[];
  /** Lines completed by this message, in arrival order. */
  logs: LogLine[];
  /** Progress counters that changed. */
  progress: ProgressItemState[];
  /** Warnings not seen before. */
  warnings: WarningState[];
}

export interface ProgressModel {
  /** Merges one Status message (from any solve) and reports what changed. */
  applyStatus(status: SolveStatus): ProgressDelta;
  /** Ends every log stream: unterminated lines become complete. Call once, at the end. */
  flush(): LogLine[];
  /** Known vertices in order of first appearance. */
  vertices(): readonly VertexState[];
  vertex(digest: string): VertexState | undefined;
  counts(): ProgressCounts;
}

export interface ProgressModelOptions {
  /** Log lines kept per vertex. Default 10 (progressui's `logsBufferSize`). */
  logTailLines?: number;
}

/** Duration of a vertex from BuildKit's timestamps; running vertices need `now` (BuildKit clock). */
export function vertexDuration(v: VertexState, now?: number): number {
  if (v.started === undefined) return 0;
  const end = v.completed ?? now ?? v.started;
  return Math.max(0, end - v.started);
}

/** progressui marks a vertex CANCELED when its error ends with Go's `context.Canceled` text. */
function isCanceledError(error: string): boolean {
  return error.endsWith("context canceled");
}

interface Run {
  started: number;
  completed: number | undefined;
  cached: boolean;
  error: string | undefined;
}

interface StreamState {
  splitter: LineSplitter;
  /** Timestamp of the chunk that began the current partial line. */
  partialTs: number;
}

class VertexEntry implements VertexState {
  name = "";
  inputs: readonly string[] = [];
  index = -1;
  phase: VertexPhase = "pending";
  cached = false;
  started: number | undefined;
  lastStarted: number | undefined;
  completed: number | undefined;
  error: string | undefined;
  progress: ProgressItemState[] = [];
  warnings: WarningState[] = [];
  logTail: string[] = [];
  logPartial = "";
  logBytes = 0;
  logSeq = 0;

  /** True once a vertex update arrived; logs and counters can come first. */
  known = false;
  readonly runs = new Map<number, Run>();
  readonly streams = new Map<number, StreamState>();
  readonly warningKeys = new Set<string>();
  /** Lines and counters received before the vertex was known, released when it is. */
  heldLines: LogLine[] = [];

  constructor(readonly digest: string) {}

  key(): string {
    return JSON.stringify([
      this.name,
      this.phase,
      this.cached,
      this.started,
      this.completed,
      this.error,
      this.inputs,
    ]);
  }

  recompute(): void {
    let first: Run | undefined;
    let last: Run | undefined;
    let open = false;
    let end: number | undefined;
    for (const run of this.runs.values()) {
      if (!first || run.started < first.started) first = run;
      if (!last || run.started >= last.started) last = run;
      if (run.completed === undefined) open = true;
      else if (end === undefined || run.completed > end) end = run.completed;
    }
    this.started = first?.started;
    this.lastStarted = last?.started;
    this.completed = open ? undefined : end;
    this.cached = last?.cached ?? false;
    this.error = last?.error;
    if (!last) this.phase = "pending";
    else if (open) this.phase = "running";
    else if (this.error !== undefined)
      this.phase = isCanceledError(this.error) ? "canceled" : "error";
    else this.phase = this.cached ? "cached" : "done";
  }
}

/**
 * @example
 * const model = createProgressModel();
 * for await (const status of solve.status) {
 *   const delta = model.applyStatus(status);
 *   for (const line of delta.logs) console.log(line.line);
 * }
 * model.counts(); // { total: 9, completed: 9, cached: 9, ... }
 */
export function createProgressModel(options: ProgressModelOptions = {}): ProgressModel {
  const tailLines = Math.max(0, options.logTailLines ?? 10);
  const entries = new Map<string, VertexEntry>();
  const order: VertexEntry[] = [];
  let logSeq = 0;

  const entry = (digest: string): VertexEntry => {
    let e = entries.get(digest);
    if (!e) {
      e = new VertexEntry(digest);
      entries.set(digest, e);
    }
    return e;
  };

  const pushLine = (e: VertexEntry, line: LogLine, out: LogLine[]): void => {
    if (tailLines > 0) {
      e.logTail.push(line.line);
      if (e.logTail.length > tailLines) e.logTail.splice(0, e.logTail.length - tailLines);
    }
    if (e.known) out.push(line);
    else e.heldLines.push(line);
  };

  const flushEntry = (e: VertexEntry, out: LogLine[]): void => {
    for (const [stream, st] of e.streams) {
      for (const line of st.splitter.flush()) {
        pushLine(
          e,
          { digest: e.digest, stream: streamName(stream), line, timestamp: st.partialTs },
          out,
        );
      }
    }
    e.logPartial = "";
  };

  const applyVertex = (u: VertexUpdate): void => {
    const e = entry(u.digest);
    if (!e.known) {
      e.known = true;
      e.index = order.length;
      order.push(e);
    }
    if (u.name) e.name = u.name;
    if (u.inputs.length > 0 || e.inputs.length === 0) e.inputs = [...u.inputs];
    // A completed update without `started` should not happen; treat its end as its start.
    const startDate = u.started ?? u.completed;
    if (startDate) {
      const started = startDate.getTime();
      let run = e.runs.get(started);
      if (!run) {
        run = { started, completed: undefined, cached: u.cached, error: undefined };
        e.runs.set(started, run);
      }
      const error = u.error ? u.error : undefined;
      if (u.completed) {
        const completed = u.completed.getTime();
        run.completed = Math.max(run.completed ?? completed, completed);
        run.cached = u.cached;
        run.error = error;
      } else if (run.completed === undefined) {
        // Still running; a started-only update for a finished run is stale and ignored.
        run.cached = u.cached;
        if (error !== undefined) run.error = error;
      }
    }
    e.recompute();
  };

  const applyProgress = (p: VertexProgress, changed: Map<string, ProgressItemState>): void => {
    const e = entry(p.vertex);
    const i = e.progress.findIndex((s) => s.id === p.id);
    const prev = i >= 0 ? e.progress[i] : undefined;
    const timestamp = p.timestamp.getTime();
    if (prev && timestamp < prev.timestamp) return; // older than what we hold
    const started = minDefined(prev?.started, p.started?.getTime());
    const completed = maxDefined(prev?.completed, p.completed?.getTime());
    const next: ProgressItemState = {
      vertex: p.vertex,
      id: p.id,
      name: p.name || prev?.name || p.id,
      current: p.current,
      total: p.total,
      timestamp,
      started,
      completed,
    };
    if (prev && sameProgress(prev, next)) return;
    if (i >= 0) e.progress[i] = next;
    else e.progress.push(next);
    changed.set(`${p.vertex}\u0000${p.id}`, next);
  };

  const applyLog = (l: VertexLogChunk, out: LogLine[]): void => {
    const e = entry(l.vertex);
    let st = e.streams.get(l.stream);
    const ts = l.timestamp.getTime();
    if (!st) {
      st = { splitter: createLineSplitter(), partialTs: ts };
      e.streams.set(l.stream, st);
    }
    const lineTs = st.splitter.partial === "" ? ts : st.partialTs;
    const lines = st.splitter.push(l.data);
    lines.forEach((line, n) => {
      pushLine(
        e,
        { digest: l.vertex, stream: streamName(l.stream), line, timestamp: n === 0 ? lineTs : ts },
        out,
      );
    });
    if (lines.length > 0) st.partialTs = ts;
    else st.partialTs = lineTs;
    e.logPartial = st.splitter.partial;
    e.logBytes += l.data.length;
    e.logSeq = ++logSeq;
  };

  const applyWarning = (w: VertexWarningEntry, out: WarningState[]): void => {
    const e = entry(w.vertex);
    const key = JSON.stringify([w.level, w.short, w.detail, w.url ?? null]);
    if (e.warningKeys.has(key)) return; // the same warning relayed by a second solve
    e.warningKeys.add(key);
    const state: WarningState = {
      vertex: w.vertex,
      level: w.level,
      short: w.short,
      detail: [...w.detail],
      url: w.url,
    };
    e.warnings.push(state);
    out.push(state);
  };

  return {
    applyStatus(status) {
      const touched = new Map<VertexEntry, string>();
      const touch = (digest: string): void => {
        const e = entry(digest);
        if (!touched.has(e)) touched.set(e, e.known ? e.key() : "");
      };
      for (const v of status.vertexes) touch(v.digest);

      const logs: LogLine[] = [];
      const progress = new Map<string, ProgressItemState>();
      const warnings: WarningState[] = [];

      for (const v of status.vertexes) {
        const e = entry(v.digest);
        const wasKnown = e.known;
        applyVertex(v);
        if (!wasKnown && e.heldLines.length > 0) {
          logs.push(...e.heldLines);
          e.heldLines = [];
        }
        if (!wasKnown) {
          for (const p of e.progress) progress.set(`${p.vertex}\u0000${p.id}`, p);
          warnings.push(...e.warnings);
        }
      }
      for (const p of status.statuses) applyProgress(p, progress);
      for (const l of status.logs) applyLog(l, logs);
      for (const w of status.warnings) applyWarning(w, warnings);

      const vertices: VertexEntry[] = [];
      for (const [e, before] of touched) {
        if (e.key() === before) continue;
        vertices.push(e);
        // A finished step writes no more output: end its unterminated line now rather than
        // at the very end. Done after the logs of this message so they are not split.
        if (e.completed !== undefined) flushEntry(e, logs);
      }
      vertices.sort((a, b) => a.index - b.index);

      return {
        vertices,
        logs,
        progress: [...progress.values()].filter((p) => entries.get(p.vertex)?.known),
        warnings: warnings.filter((w) => entries.get(w.vertex)?.known),
      };
    },
    flush() {
      const out: LogLine[] = [];
      for (const e of order) flushEntry(e, out);
      return out;
    },
    vertices() {
      return order;
    },
    vertex(digest) {
      const e = entries.get(digest);
      return e?.known ? e : undefined;
    },
    counts() {
      const c: ProgressCounts = {
        total: order.length,
        completed: 0,
        cached: 0,
        errored: 0,
        canceled: 0,
        running: 0,
        pending: 0,
      };
      for (const e of order) {
        switch (e.phase) {
          case "pending":
            c.pending++;
            break;
          case "running":
            c.running++;
            break;
          case "cached":
            c.cached++;
            c.completed++;
            break;
          case "error":
            c.errored++;
            c.completed++;
            break;
          case "canceled":
            c.canceled++;
            c.completed++;
            break;
          case "done":
            c.completed++;
            break;
        }
      }
      return c;
    },
  };
}

/** BuildKit's log `stream` field: 1 is stdout, 2 is stderr (control.proto `VertexLog`). */
function streamName(stream: number): LogStream {
  return stream === 2 ? "stderr" : "stdout";
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

function sameProgress(a: ProgressItemState, b: ProgressItemState): boolean {
  return (
    a.name === b.name &&
    a.current === b.current &&
    a.total === b.total &&
    a.started === b.started &&
    a.completed === b.completed
  );
}
