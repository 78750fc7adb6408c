/**
 * The end of what a helper process (ssh, buildctl dial-stdio) printed on stderr, kept for
 * the reason in an error: the line that says why it failed is the last one.
 */
export class StderrTail {
  /** Enough for several lines of ssh's or Docker's complaints; older output is dropped. */
  static readonly keep = 4096;
  #text = "";

  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-StderrTail.keep);
  }

  get text(): string {
    return this.#text;
  }

  /** The last non-empty line, trimmed; empty when nothing was printed. */
  get lastLine(): string {
    const lines = this.#text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    return lines.at(-1) ?? "";
  }
}
