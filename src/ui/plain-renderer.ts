/**
 * Plain progress for CI logs and pipes, line by line and never redrawn. The format is
 * buildx's `--progress=plain` (progressui `printer.go`, `textMux.printVtx`):
 *
 * ```
 * #1 [internal] load build definition
 * #1 DONE 0.0s
 *
 * #2 [app 2/3] RUN make
 * #2 0.123 cc -o app main.c
 * #2 ...
 *
 * #3 [app 1/3] FROM alpine
 * #3 CACHED
 *
 * #2 [app 2/3] RUN make
 * #2 DONE 1.2s
 * ```
 *
 * Steps are numbered in the order they are first printed. Output for another step than the
 * last one printed starts a new block: an unfinished step is closed with `#N ...` and the
 * header is repeated when it is picked up again.
 */

import { formatBytes, formatDuration, formatLogOffset } from "./format.js";
import type {
  LogLine,
  ProgressDelta,
  ProgressItemState,
  VertexState,
  WarningState,
} from "./progress-model.js";
import { vertexDuration } from "./progress-model.js";
import type { ProgressEndOptions, ProgressRenderer, RendererContext } from "./renderer.js";
import { formatSummaryLine, summarize } from "./summary.js";

// progressui prints a progress counter again only after 5% of its total or 5 s (printer.go
// minProgressDelta, minTimeDelta), so a large pull does not print thousands of lines.
const MIN_PROGRESS_DELTA = 0.05;
const MIN_TIME_DELTA_MS = 5000;

interface Pending {
  logs: LogLine[];
  progress: ProgressItemState[];
  warnings: WarningState[];
  changed: boolean;
}

export class PlainRenderer implements ProgressRenderer {
  readonly #ctx: RendererContext;
  readonly #numbers = new Map<string, number>();
  /** The outcome printed last for each vertex, so a repeat of the same outcome is not printed. */
  readonly #outcomes = new Map<string, string>();
  readonly #lastProgress = new Map<string, { current: number; timestamp: number }>();
  #current: string | undefined;
  #printedAny = false;
  #ended = false;

  constructor(ctx: RendererContext) {
    this.#ctx = ctx;
  }

  update(status: Parameters<ProgressRenderer["update"]>[0]): void {
    if (this.#ended) return;
    this.#print(this.#ctx.model.applyStatus(status));
  }

  end(summary: ProgressEndOptions = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    const { model, now, startedAt, colors, stream } = this.#ctx;
    this.#print({ vertices: [], logs: model.flush(), progress: [], warnings: [] });
    const s = summarize(model, now() - startedAt, summary.error === true);
    // A run that failed before any step (a bad input, say) gets its error line alone.
    if (s.steps === 0) return;
    stream.write(`${this.#printedAny ? "\n" : ""}${formatSummaryLine(s, colors)}\n`);
  }

  #print(delta: ProgressDelta): void {
    const { model } = this.#ctx;
    const byVertex = new Map<string, Pending>();
    const pending = (digest: string): Pending => {
      let p = byVertex.get(digest);
      if (!p) {
        p = { logs: [], progress: [], warnings: [], changed: false };
        byVertex.set(digest, p);
      }
      return p;
    };
    for (const v of delta.vertices) pending(v.digest).changed = true;
    for (const l of delta.logs) pending(l.digest).logs.push(l);
    for (const p of delta.progress) pending(p.vertex).progress.push(p);
    for (const w of delta.warnings) pending(w.vertex).warnings.push(w);

    // As progressui does: finished steps first (by end time), then the running ones.
    const finished: VertexState[] = [];
    const rest: VertexState[] = [];
    for (const digest of byVertex.keys()) {
      const v = model.vertex(digest);
      if (!v) continue;
      (v.completed !== undefined ? finished : rest).push(v);
    }
    finished.sort((a, b) => (a.completed ?? 0) - (b.completed ?? 0) || a.index - b.index);
    rest.sort((a, b) => a.index - b.index);

    const out: string[] = [];
    for (const v of [...finished, ...rest]) {
      const p = byVertex.get(v.digest);
      if (p) this.#printVertex(v, p, out);
    }
    // Nothing current: make a running step current so a long silent step is still named
    // (progressui: "make any open vertex active").
    if (this.#current === undefined) {
      const open = model.vertices().find((v) => v.phase === "running");
      if (open) this.#header(open, out);
    }
    if (out.length > 0) this.#ctx.stream.write(`${out.join("\n")}\n`);
  }

  #printVertex(v: VertexState, p: Pending, out: string[]): void {
    const { scrub, colors } = this.#ctx;
    const outcome = v.completed !== undefined ? `${v.phase}@${v.completed}` : undefined;
    const newOutcome = outcome !== undefined && this.#outcomes.get(v.digest) !== outcome;
    const progress = p.progress.filter((s) => this.#shouldPrintProgress(s));
    const hasOutput = p.logs.length > 0 || progress.length > 0 || p.warnings.length > 0;
    // A step that has not started (BuildKit's pending announcement) prints nothing yet.
    // A step that starts while another one is current waits for its first output, as in
    // progressui, so parallel steps do not print a header each.
    const starts = p.changed && v.phase === "running" && this.#current === undefined;
    if (!hasOutput && !newOutcome && !starts) return;

    const n = this.#header(v, out);
    const base = v.lastStarted ?? v.started;
    for (const l of p.logs) {
      const offset = base === undefined ? 0 : l.timestamp - base;
      out.push(`#${n} ${formatLogOffset(offset)} ${scrub(l.line)}`);
    }
    for (const s of progress) out.push(`#${n} ${formatProgress(s)}`);
    for (const w of p.warnings) out.push(colors.yellow(`#${n} WARN: ${scrub(w.short)}`));

    if (newOutcome && outcome !== undefined) {
      this.#outcomes.set(v.digest, outcome);
      this.#current = undefined;
      switch (v.phase) {
        case "error":
          out.push(colors.red(`#${n} ERROR: ${scrub(v.error ?? "")}`));
          break;
        case "canceled":
          out.push(colors.yellow(`#${n} CANCELED`));
          break;
        case "cached":
          out.push(`#${n} CACHED`);
          break;
        default:
          out.push(`#${n} DONE ${formatDuration(vertexDuration(v))}`);
      }
    }
  }

  /** Starts a block for `v` unless it is the current one; returns its number. */
  #header(v: VertexState, out: string[]): number {
    let n = this.#numbers.get(v.digest);
    if (n === undefined) {
      n = this.#numbers.size + 1;
      this.#numbers.set(v.digest, n);
    }
    if (this.#current !== v.digest) {
      const prev = this.#current === undefined ? undefined : this.#ctx.model.vertex(this.#current);
      if (prev && prev.completed === undefined) out.push(`#${this.#numbers.get(prev.digest)} ...`);
      if (this.#printedAny) out.push("");
      out.push(`#${n} ${this.#ctx.scrub(v.name)}`);
      this.#current = v.digest;
      this.#printedAny = true;
    }
    return n;
  }

  #shouldPrintProgress(s: ProgressItemState): boolean {
    const key = `${s.vertex}\u0000${s.id}`;
    const last = this.#lastProgress.get(key);
    if (last && s.completed === undefined) {
      const delta = s.total > 0 ? (s.current - last.current) / s.total : 0;
      if (delta < MIN_PROGRESS_DELTA && s.timestamp - last.timestamp < MIN_TIME_DELTA_MS) {
        return false;
      }
    }
    this.#lastProgress.set(key, { current: s.current, timestamp: s.timestamp });
    return true;
  }
}

/** `sha256:abc 1.20MB / 3.40MB 0.5s done`, as progressui prints a status row. */
export function formatProgress(s: ProgressItemState): string {
  let bytes = "";
  if (s.total !== 0) bytes = ` ${formatBytes(s.current)} / ${formatBytes(s.total)}`;
  else if (s.current !== 0) bytes = ` ${formatBytes(s.current)}`;
  let tm = "";
  if (s.started !== undefined) {
    const dt = (s.completed ?? s.timestamp) - s.started;
    if (dt > 10) tm = ` ${formatDuration(dt)}`;
  }
  return `${s.id}${bytes}${tm}${s.completed !== undefined ? " done" : ""}`;
}
