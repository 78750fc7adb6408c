/**
 * Machine-readable progress: one JSON object per line (NDJSON). The schema is documented and
 * versioned in docs/progress-json.md; every event carries `"v": 1`. Keys are written in a fixed
 * order so the output is byte-stable for a given input.
 */

import type {
  LogLine,
  LogStream,
  ProgressItemState,
  VertexState,
  WarningState,
} from "./progress-model.js";
import type { ProgressEndOptions, ProgressRenderer, RendererContext } from "./renderer.js";
import { type ProgressSummary, summarize } from "./summary.js";

/** The schema version written in every event's `v` field. */
export const PROGRESS_JSON_VERSION = 1;

export interface VertexEvent {
  v: 1;
  type: "vertex";
  digest: string;
  name: string;
  inputs: string[];
  cached: boolean;
  /** ISO-8601, or null while pending. */
  started: string | null;
  completed: string | null;
  error: string | null;
}

export interface LogEvent {
  v: 1;
  type: "log";
  digest: string;
  stream: LogStream;
  line: string;
  time: string;
}

export interface ProgressEvent {
  v: 1;
  type: "progress";
  digest: string;
  id: string;
  name: string;
  current: number;
  total: number;
  started: string | null;
  completed: string | null;
}

export interface WarningEvent {
  v: 1;
  type: "warning";
  digest: string;
  level: number;
  short: string;
  detail: string[];
  url: string | null;
}

/** The end of the stream: the run's numbers, as the summary line gives them. */
export interface SummaryEvent extends ProgressSummary {
  v: 1;
  type: "summary";
}

export type ProgressJsonEvent =
  | VertexEvent
  | LogEvent
  | ProgressEvent
  | WarningEvent
  | SummaryEvent;

export class JsonRenderer implements ProgressRenderer {
  readonly #ctx: RendererContext;
  /** The last vertex event written per digest: an event is written only when it differs. */
  readonly #lastVertex = new Map<string, string>();
  #ended = false;

  constructor(ctx: RendererContext) {
    this.#ctx = ctx;
  }

  update(status: Parameters<ProgressRenderer["update"]>[0]): void {
    if (this.#ended) return;
    const { model, scrub } = this.#ctx;
    const delta = model.applyStatus(status);
    const out: string[] = [];
    // Starting (and first-seen) vertices before their output, finishing ones after it.
    const late = delta.vertices.filter(
      (v) => v.completed !== undefined && this.#lastVertex.has(v.digest),
    );
    for (const v of delta.vertices) if (!late.includes(v)) this.#vertex(v, out);
    for (const s of delta.progress) out.push(JSON.stringify(progressEvent(s)));
    for (const l of delta.logs) out.push(JSON.stringify(logEvent(l, scrub)));
    for (const w of delta.warnings) out.push(JSON.stringify(warningEvent(w, scrub)));
    for (const v of late) this.#vertex(v, out);
    this.#write(out);
  }

  end(summary: ProgressEndOptions = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    const { model, now, startedAt, scrub } = this.#ctx;
    const out: string[] = [];
    for (const l of model.flush()) out.push(JSON.stringify(logEvent(l, scrub)));
    const s = summarize(model, now() - startedAt, summary.error === true);
    const ev: SummaryEvent = {
      v: 1,
      type: "summary",
      steps: s.steps,
      cached: s.cached,
      failed: s.failed,
      canceled: s.canceled,
      error: s.error,
      durationMs: Math.round(s.durationMs),
    };
    out.push(JSON.stringify(ev));
    this.#write(out);
  }

  #vertex(v: VertexState, out: string[]): void {
    const line = JSON.stringify(vertexEvent(v, this.#ctx.scrub));
    if (this.#lastVertex.get(v.digest) === line) return;
    this.#lastVertex.set(v.digest, line);
    out.push(line);
  }

  #write(lines: string[]): void {
    if (lines.length > 0) this.#ctx.stream.write(`${lines.join("\n")}\n`);
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function vertexEvent(v: VertexState, scrub: (text: string) => string): VertexEvent {
  return {
    v: 1,
    type: "vertex",
    digest: v.digest,
    name: scrub(v.name),
    inputs: [...v.inputs],
    cached: v.cached,
    started: iso(v.started),
    completed: iso(v.completed),
    error: v.error === undefined ? null : scrub(v.error),
  };
}

function logEvent(l: LogLine, scrub: (text: string) => string): LogEvent {
  return {
    v: 1,
    type: "log",
    digest: l.digest,
    stream: l.stream,
    line: scrub(l.line),
    time: new Date(l.timestamp).toISOString(),
  };
}

function progressEvent(s: ProgressItemState): ProgressEvent {
  return {
    v: 1,
    type: "progress",
    digest: s.vertex,
    id: s.id,
    name: s.name,
    current: s.current,
    total: s.total,
    started: iso(s.started),
    completed: iso(s.completed),
  };
}

function warningEvent(w: WarningState, scrub: (text: string) => string): WarningEvent {
  return {
    v: 1,
    type: "warning",
    digest: w.vertex,
    level: w.level,
    short: scrub(w.short),
    detail: w.detail.map(scrub),
    url: w.url ?? null,
  };
}
