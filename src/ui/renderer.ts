/**
 * What every progress renderer implements, and what they share. Renderers are thin: they feed
 * a {@link ProgressModel} and turn its state into text on an injected stream.
 */

import type { SolveStatus } from "../buildkit/solve-status.js";
import type { Colors } from "./colors.js";
import type { ProgressModel } from "./progress-model.js";

/** Where progress goes. `process.stderr` fits; tests pass a recorder. */
export interface ProgressStream {
  write(s: string): unknown;
  /** Terminal width; read at every tty redraw so resizes apply. Default 80. */
  columns?: number;
  /** Terminal height. Default 24. */
  rows?: number;
  isTTY?: boolean;
}

export interface ProgressEndOptions {
  /** The build failed (even if no step reported an error, e.g. a bad definition). */
  error?: boolean;
}

export interface ProgressRenderer {
  /** Feeds one Status message; any solve on the session may send it. */
  update(status: SolveStatus): void;
  /** Stops timers, draws the final state and the summary line. Later calls do nothing. */
  end(summary?: ProgressEndOptions): void;
}

/** What the factory hands each renderer. */
export interface RendererContext {
  stream: ProgressStream;
  model: ProgressModel;
  now: () => number;
  /** When the progress was created, on `now`'s clock. */
  startedAt: number;
  scrub: (text: string) => string;
  colors: Colors;
}
