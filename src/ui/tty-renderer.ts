/**
 * Interactive progress, redrawn in place, as buildx shows it (BuildKit progressui
 * `display.go`, `ttyDisplay.print`):
 *
 * ```
 * [+] Building 3.4s (5/7)
 *  => [internal] load build definition                                    0.0s
 *  => CACHED [app 1/3] FROM docker.io/library/alpine                      0.0s
 *  => [app 2/3] RUN make                                                  2.1s
 *  => => # cc -o app main.c
 *  => [app 3/3] COPY dist /srv                                            0.3s
 *  => => sha256:4f4f 1.20MB / 3.40MB                                      0.3s
 * ```
 *
 * {@link renderTtyFrame} is a pure function of the model, the clock and the terminal size;
 * {@link TtyRenderer} only adds the cursor work and the timers.
 */

import {
  CURSOR_HIDE,
  CURSOR_SHOW,
  cursorUp,
  ERASE_DOWN,
  ERASE_LINE,
  sanitizeLine,
  truncate,
  visibleWidth,
} from "./ansi.js";
import type { Colors } from "./colors.js";
import { formatBytes, formatDuration } from "./format.js";
import { visibleSegment } from "./log-lines.js";
import type { ProgressModel, VertexState } from "./progress-model.js";
import type { ProgressEndOptions, ProgressRenderer, RendererContext } from "./renderer.js";
import { formatErrorBlock, formatSummaryLine, summarize } from "./summary.js";

/** progressui's refresh tick (`tickerTimeout`). */
export const TTY_TICK_MS = 150;
/** progressui's redraw rate limit (`displayTimeout`, `TTY_DISPLAY_RATE`). */
export const TTY_MIN_REDRAW_MS = 100;
/** Log lines shown under a running step (progressui `termHeight`, `BUILDKIT_TTY_LOG_LINES`). */
export const TTY_LOG_LINES = 6;

const LOG_PREFIX = " => => # ";
const JOB_PREFIX = " => ";

export interface TtyFrameOptions {
  /** Local clock, ms. */
  now: number;
  /** Local time the progress was created; the header timer counts from it. */
  startedAt: number;
  /**
   * Local clock minus BuildKit's clock, ms, to time running steps whose `started` is on the
   * daemon's clock (progressui `localTimeDiff`). Default 0.
   */
  clockSkew?: number;
  /** Terminal columns; no line is longer. */
  width: number;
  /** Terminal rows; the frame is cut to fit unless `final`. */
  height: number;
  colors: Colors;
  scrub?: (text: string) => string;
  /** Log lines under each running step. Default {@link TTY_LOG_LINES}. */
  logLines?: number;
  /** The last frame: adds `FINISHED` when all steps completed, shows every step, no logs. */
  final?: boolean;
}

interface Job {
  vertex: VertexState;
  /** Left part, without prefix. */
  name: string;
  status: string;
  durationMs: number;
  /** Whether this row's work is over (colours it, and makes it the first to go when cut). */
  done: boolean;
  color: ((s: string) => string) | undefined;
  /** Log lines drawn under this row. */
  logs: string[];
}

/**
 * Renders one frame as lines (no trailing newlines, no cursor codes).
 *
 * @example
 * renderTtyFrame(model, { now: Date.now(), startedAt, width: 80, height: 24, colors });
 * // ["[+] Building 1.2s (2/3)", " => CACHED [app 1/3] FROM alpine        0.0s", ...]
 */
export function renderTtyFrame(model: ProgressModel, opts: TtyFrameOptions): string[] {
  const { colors, width, final = false } = opts;
  const scrub = opts.scrub ?? identity;
  const logLines = Math.max(0, opts.logLines ?? TTY_LOG_LINES);
  const daemonNow = opts.now - (opts.clockSkew ?? 0);
  const counts = model.counts();

  let header = `[+] Building ${formatDuration(opts.now - opts.startedAt)} (${counts.completed}/${counts.total})`;
  if (final && counts.total > 0 && counts.completed === counts.total) header += " FINISHED";

  let jobs: Job[] = [];
  // Like progressui, a step appears once it has started, in the order steps started:
  // BuildKit announces pending vertices in no useful order.
  const started = model
    .vertices()
    .filter((v) => v.started !== undefined)
    .sort((a, b) => a.started! - b.started! || a.index - b.index);
  for (const v of started) {
    const done = v.completed !== undefined;
    let prefix = "";
    let color: Job["color"] = done ? colors.blue : undefined;
    if (v.phase === "error") {
      prefix = "ERROR ";
      color = colors.red;
    } else if (v.phase === "canceled") {
      prefix = "CANCELED ";
      color = colors.yellow;
    }
    if (v.cached) prefix += "CACHED ";
    jobs.push({
      vertex: v,
      name: prefix + clean(scrub(v.name)),
      status: "",
      durationMs: stepTime(v.started, v.completed, daemonNow),
      done,
      color,
      logs: [],
    });
    for (const s of v.progress) {
      if (s.started === undefined) continue;
      let status = "";
      if (s.total !== 0) status = `${formatBytes(s.current)} / ${formatBytes(s.total)}`;
      else if (s.current !== 0) status = formatBytes(s.current);
      const sDone = s.completed !== undefined;
      jobs.push({
        vertex: v,
        name: `=> ${clean(s.id)}`,
        status,
        durationMs: stepTime(s.started, s.completed, daemonNow),
        done: sDone,
        color: sDone ? colors.blue : undefined,
        logs: [],
      });
    }
    for (const w of v.warnings) {
      jobs.push({
        vertex: v,
        name: `WARN: ${clean(scrub(w.short))}`,
        status: "",
        durationMs: stepTime(v.started, v.completed, daemonNow),
        done: true,
        color: colors.yellow,
        logs: [],
      });
    }
  }

  if (!final) {
    // Room for the header and the line the cursor rests on (progressui: height - 2).
    const room = Math.max(0, opts.height - 2);
    let free = room - jobs.filter((j) => !j.done).length;
    const candidates = jobs
      .filter(
        (j) => !j.done && j.status === "" && j.vertex.phase === "running" && j.vertex.logSeq > 0,
      )
      .sort((a, b) => b.vertex.logSeq - a.vertex.logSeq);
    let logRows = 0;
    // progressui gives a step its log lines only while termHeight + 3 rows stay free.
    for (const j of candidates) {
      if (logLines === 0 || free <= logLines + 3) break;
      j.logs = logTail(j.vertex, logLines, scrub);
      logRows += j.logs.length;
      free -= logLines + 3;
    }
    jobs = fitJobs(jobs, room - logRows);
  }

  const lines = [truncate(header, width)];
  for (const j of jobs) {
    lines.push(formatJob(j, width));
    for (const l of j.logs) {
      lines.push(colors.dim(truncate(LOG_PREFIX + l, width)));
    }
  }
  return lines;
}

/**
 * Cuts the job list to `limit` rows: finished rows go first, oldest first; only if unfinished
 * rows alone do not fit are the earliest of those dropped too (progressui `wrapHeight`).
 */
function fitJobs(jobs: Job[], limit: number): Job[] {
  if (limit <= 0) return [];
  if (jobs.length <= limit) return jobs;
  let excess = jobs.length - limit;
  const kept = jobs.filter((j) => {
    if (excess > 0 && j.done) {
      excess--;
      return false;
    }
    return true;
  });
  return kept.slice(kept.length - Math.min(kept.length, limit));
}

/** ` => NAME STATUS ...padding... 1.2s`, exactly `width` columns (progressui `align`). */
function formatJob(j: Job, width: number): string {
  // progressui shows 0.0s below 50 ms so cached steps do not flicker between 0.0 and 0.1.
  const timer = ` ${formatDuration(j.durationMs < 50 ? 0 : j.durationMs)}`;
  let left = width - JOB_PREFIX.length - timer.length - 1;
  let showStatus = false;
  if (j.status !== "" && left + j.status.length > 20) {
    showStatus = true;
    left -= j.status.length + 1;
  }
  let line: string;
  if (left < 12) {
    // Too narrow for a timer column: the name alone, cut.
    line = truncate(JOB_PREFIX + j.name, width);
  } else {
    const head = JOB_PREFIX + truncate(j.name, left) + (showStatus ? ` ${j.status}` : "");
    line = head + " ".repeat(Math.max(1, width - visibleWidth(head) - timer.length)) + timer;
    line = truncate(line, width);
  }
  return j.done && j.color ? j.color(line) : line;
}

/** The last `n` non-blank lines of a step's output as a terminal would show them. */
function logTail(v: VertexState, n: number, scrub: (text: string) => string): string[] {
  const out: string[] = [];
  for (const raw of v.logTail) {
    const line = clean(visibleSegment(scrub(raw), true));
    if (line.trim() !== "") out.push(line);
  }
  // The line being written, up to its last carriage return (a progress bar's last frame).
  const partial = clean(visibleSegment(scrub(v.logPartial), false));
  if (partial.trim() !== "") out.push(partial);
  return out.slice(-n);
}

function stepTime(started: number | undefined, completed: number | undefined, now: number): number {
  if (started === undefined) return 0;
  return Math.max(0, (completed ?? now) - started);
}

function clean(text: string): string {
  return sanitizeLine(text.replace(/[\r\n]+/g, " "));
}

function identity(text: string): string {
  return text;
}

export interface TtyTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface TtyRendererOptions {
  logLines?: number;
  /** Timer functions; default the global ones. The interval is unref'd when it supports it. */
  timers?: TtyTimers;
}

export class TtyRenderer implements ProgressRenderer {
  readonly #ctx: RendererContext;
  readonly #logLines: number;
  readonly #timers: TtyTimers;
  #timer: unknown;
  #lineCount = 0;
  #drawn = false;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #skew: number | undefined;
  #ended = false;

  constructor(ctx: RendererContext, options: TtyRendererOptions = {}) {
    this.#ctx = ctx;
    this.#logLines = options.logLines ?? TTY_LOG_LINES;
    this.#timers = options.timers ?? {
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
    };
  }

  update(status: Parameters<ProgressRenderer["update"]>[0]): void {
    if (this.#ended) return;
    const { model, now } = this.#ctx;
    model.applyStatus(status);
    if (this.#skew === undefined) {
      // The first start time seen calibrates the daemon clock against ours (progressui
      // `localTimeDiff`), so running steps are timed on BuildKit's own timestamps.
      for (const v of status.vertexes) {
        if (v.started) {
          this.#skew = now() - v.started.getTime();
          break;
        }
      }
    }
    this.#startTimer();
    if (now() - this.#lastDraw >= TTY_MIN_REDRAW_MS) this.#draw(false);
  }

  end(summary: ProgressEndOptions = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopTimer();
    const { model, now, startedAt, scrub, colors, stream } = this.#ctx;
    model.flush();
    const frame = this.#frame(true);
    const out: string[] = [];
    for (const v of model.vertices()) {
      if (v.phase === "error") out.push(...formatErrorBlock(v, scrub, colors));
    }
    const s = summarize(model, now() - startedAt, summary.error === true);
    // A run that failed before any step (a bad input, say) gets its error line alone.
    if (s.steps > 0) out.push(formatSummaryLine(s, colors));
    stream.write(`${frame}${CURSOR_SHOW}${out.length > 0 ? `${out.join("\n")}\n` : ""}`);
  }

  /** Whether the refresh timer is running (for tests). */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  #startTimer(): void {
    if (this.#timer !== undefined) return;
    const handle = this.#timers.setInterval(() => {
      if (this.#ctx.now() - this.#lastDraw >= TTY_MIN_REDRAW_MS) this.#draw(false);
    }, TTY_TICK_MS);
    // Progress must never keep the process alive.
    (handle as { unref?: () => void } | undefined)?.unref?.();
    this.#timer = handle;
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #draw(final: boolean): void {
    this.#ctx.stream.write(this.#frame(final));
  }

  /** The next frame with the cursor work around it; records it as drawn. */
  #frame(final: boolean): string {
    const { model, now, startedAt, stream, colors, scrub } = this.#ctx;
    const t = now();
    const lines = renderTtyFrame(model, {
      now: t,
      startedAt,
      clockSkew: this.#skew ?? 0,
      width: Math.max(1, stream.columns ?? 80),
      height: Math.max(3, stream.rows ?? 24),
      colors,
      scrub,
      logLines: this.#logLines,
      final,
    });
    // Back to the frame's first line, rewrite each line, clear what the old frame left below.
    let out = this.#drawn ? cursorUp(this.#lineCount) : `${CURSOR_HIDE}\r`;
    for (const line of lines) out += `${ERASE_LINE}${line}\n`;
    out += ERASE_DOWN;
    this.#drawn = true;
    this.#lineCount = lines.length;
    this.#lastDraw = t;
    return out;
  }
}
