/**
 * Quiet progress: nothing on success. A step that fails is reported once, as it fails, with
 * the end of its output (the same block tty mode prints at the end).
 */

import type { ProgressEndOptions, ProgressRenderer, RendererContext } from "./renderer.js";
import { formatErrorBlock } from "./summary.js";

export class QuietRenderer implements ProgressRenderer {
  readonly #ctx: RendererContext;
  readonly #reported = new Set<string>();
  #ended = false;

  constructor(ctx: RendererContext) {
    this.#ctx = ctx;
  }

  update(status: Parameters<ProgressRenderer["update"]>[0]): void {
    if (this.#ended) return;
    this.#report(this.#ctx.model.applyStatus(status).vertices);
  }

  end(_summary: ProgressEndOptions = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#ctx.model.flush();
  }

  #report(vertices: Iterable<{ digest: string }>): void {
    const { model, scrub, colors, stream } = this.#ctx;
    for (const { digest } of vertices) {
      const v = model.vertex(digest);
      if (v?.phase !== "error" || this.#reported.has(digest)) continue;
      this.#reported.add(digest);
      stream.write(`${formatErrorBlock(v, scrub, colors).join("\n")}\n`);
    }
  }
}
