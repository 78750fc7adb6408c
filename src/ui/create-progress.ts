/**
 * The progress entry point: picks a renderer (buildx's `--progress` modes, with `rawjson`
 * replaced by a documented, versioned `json`) and wires it to one shared model. Every solve on
 * a session sends its Status messages to the same instance.
 */

import { colorEnabled, createColors } from "./colors.js";
import { JsonRenderer } from "./json-renderer.js";
import { PlainRenderer } from "./plain-renderer.js";
import { createProgressModel } from "./progress-model.js";
import { QuietRenderer } from "./quiet-renderer.js";
import type { ProgressRenderer, ProgressStream, RendererContext } from "./renderer.js";
import { TtyRenderer, type TtyTimers } from "./tty-renderer.js";

export type ProgressMode = "auto" | "tty" | "plain" | "json" | "quiet";
export type ResolvedProgressMode = Exclude<ProgressMode, "auto">;

export interface ProgressOptions {
  /** Output style; buildx's `--progress`. Default `"auto"`: see {@link resolveProgressMode}. */
  mode?: ProgressMode;
  /** Where to write. Default `process.stderr`, as buildx does. */
  stream?: ProgressStream;
  /** Environment read for `CI`, `TERM`, `NO_COLOR`. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock in epoch ms, for timers and the summary's wall time. Default `Date.now`. */
  now?: () => number;
  /** Whether `stream` is a terminal. Default `stream.isTTY === true`. */
  isTTY?: boolean;
  /**
   * Applied to every log line, step name, warning and error text before it is written (secret
   * redaction). Default: identity.
   */
  scrub?: (text: string) => string;
  /** Force colour on or off. Default: on for a terminal unless `NO_COLOR` is non-empty. */
  color?: boolean;
  /** tty mode: log lines under a running step. Default 6, like buildx. */
  logLines?: number;
  /** tty mode: timer functions, for tests. Default the global ones (unref'd). */
  timers?: TtyTimers;
}

/**
 * `auto` is `tty` when the stream is a terminal, `CI` is unset (or empty, `0`, `false`) and
 * `TERM` is not `dumb`; otherwise `plain`. Other modes are returned as they are.
 */
export function resolveProgressMode(
  mode: ProgressMode,
  { isTTY, env }: { isTTY: boolean; env: Readonly<Record<string, string | undefined>> },
): ResolvedProgressMode {
  if (mode !== "auto") return mode;
  const ci = env.CI;
  const inCI = ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
  return isTTY && !inCI && env.TERM !== "dumb" ? "tty" : "plain";
}

/**
 * Creates the progress display for a build. Call `update` with every Status message of every
 * solve, and `end` once (in a `finally`) to stop timers, restore the cursor and print the
 * summary.
 *
 * @example
 * const progress = createProgress({ mode: "auto" });
 * try {
 *   for await (const status of statuses) progress.update(status);
 *   progress.end();
 * } catch (err) {
 *   progress.end({ error: true });
 *   throw err;
 * }
 */
export function createProgress(options: ProgressOptions = {}): ProgressRenderer {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const isTTY = options.isTTY ?? stream.isTTY === true;
  const mode = resolveProgressMode(options.mode ?? "auto", { isTTY, env });
  const color = mode !== "json" && (options.color ?? colorEnabled(env, isTTY));
  const ctx: RendererContext = {
    stream,
    model: createProgressModel(),
    now,
    startedAt: now(),
    scrub: options.scrub ?? ((text) => text),
    colors: createColors(color),
  };
  switch (mode) {
    case "tty":
      return new TtyRenderer(ctx, { logLines: options.logLines, timers: options.timers });
    case "plain":
      return new PlainRenderer(ctx);
    case "json":
      return new JsonRenderer(ctx);
    case "quiet":
      return new QuietRenderer(ctx);
  }
}
