/**
 * The closing report shared by all renderers: the one-line summary (`hln: 9 steps, 9 cached,
 * 0.4s`) and the block that shows a failed step's error with the end of its output.
 */

import type { Colors } from "./colors.js";
import { formatDuration } from "./format.js";
import type { ProgressModel, VertexState } from "./progress-model.js";

/** Numbers of a finished run; also the payload of the json `summary` event. */
export interface ProgressSummary {
  /** Vertices seen across all solves. */
  steps: number;
  cached: number;
  /** Vertices that failed (canceled ones not included). */
  failed: number;
  canceled: number;
  /** True when the caller reported a failure or any step failed. */
  error: boolean;
  /** Wall time on the injected clock between creating the progress and `end()`. */
  durationMs: number;
}

export function summarize(
  model: ProgressModel,
  durationMs: number,
  error: boolean,
): ProgressSummary {
  const c = model.counts();
  return {
    steps: c.total,
    cached: c.cached,
    failed: c.errored,
    canceled: c.canceled,
    error: error || c.errored > 0,
    durationMs: Math.max(0, durationMs),
  };
}

/**
 * @example
 * formatSummaryLine({ steps: 9, cached: 9, failed: 0, canceled: 0, error: false, durationMs: 420 }, colors);
 * // "hln: 9 steps, 9 cached, 0.4s"
 */
export function formatSummaryLine(s: ProgressSummary, colors: Colors): string {
  const parts = [`${s.steps} ${s.steps === 1 ? "step" : "steps"}`, `${s.cached} cached`];
  if (s.failed > 0) parts.push(colors.red(`${s.failed} failed`));
  else if (s.error) parts.push(colors.red("failed"));
  if (s.canceled > 0) parts.push(colors.yellow(`${s.canceled} canceled`));
  parts.push(formatDuration(s.durationMs));
  return `hln: ${parts.join(", ")}`;
}

/**
 * A failed step, as buildx prints it after the progress display: its name, the last lines of
 * its output, then BuildKit's error text.
 *
 * ```
 * ------
 *  > [app 2/3] RUN make:
 * make: *** No rule to make target 'all'.
 * ------
 * ERROR: [app 2/3] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2
 * ```
 */
export function formatErrorBlock(
  v: VertexState,
  scrub: (text: string) => string,
  colors: Colors,
  maxLines = 10,
): string[] {
  const name = scrub(v.name);
  const out: string[] = [];
  const tail = v.logTail.slice(-maxLines);
  if (tail.length > 0) {
    out.push("------", ` > ${name}:`);
    for (const line of tail) out.push(scrub(line));
    out.push("------");
  }
  out.push(colors.red(`ERROR: ${name}: ${scrub(v.error ?? "failed")}`));
  return out;
}
