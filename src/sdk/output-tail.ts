/**
 * The last lines each step printed, for error reports, in the order the step wrote them.
 *
 * BuildKit reads a step's stdout and stderr in a reader each and relays their chunks
 * through separate progress pipes, so a chunk can reach us after a later one from the
 * other stream, within a Status message or across two. Each chunk carries the time
 * BuildKit read it, which follows the order the step wrote in (hln's exec shim waits for
 * one stream to be read before it writes to the other): chunks are kept in that order.
 */

/** One log chunk as the Status stream delivers it. */
export interface OutputChunk {
  vertex: string;
  /** 1 stdout, 2 stderr. */
  stream: number;
  timestamp: Date;
  data: Uint8Array;
}

interface Kept {
  at: number;
  stream: number;
  text: string;
}

/** Bytes kept per step: enough for the last lines of any reasonable output. */
const keptBytes = 64 * 1024;

export class OutputTail {
  readonly #chunks = new Map<string, Kept[]>();
  readonly #bytes = new Map<string, number>();

  constructor(private readonly maxLines = 20) {}

  add(chunk: OutputChunk): void {
    const kept: Kept = {
      at: chunk.timestamp.getTime(),
      stream: chunk.stream,
      text: Buffer.from(chunk.data).toString("utf8"),
    };
    const list = this.#chunks.get(chunk.vertex) ?? [];
    // Usually the newest: look from the end for its place.
    let i = list.length;
    while (i > 0 && list[i - 1]!.at > kept.at) i--;
    list.splice(i, 0, kept);
    let bytes = (this.#bytes.get(chunk.vertex) ?? 0) + kept.text.length;
    while (bytes > keptBytes && list.length > 1) bytes -= list.shift()!.text.length;
    this.#chunks.set(chunk.vertex, list);
    this.#bytes.set(chunk.vertex, bytes);
  }

  /** The last lines of `vertex`'s output, stdout and stderr interleaved as written. */
  lines(vertex: string): string[] {
    const out: string[] = [];
    // A line may span chunks of its own stream; another stream's chunk does not end it.
    const partial = new Map<number, string>();
    for (const c of this.#chunks.get(vertex) ?? []) {
      const parts = ((partial.get(c.stream) ?? "") + c.text).split("\n");
      partial.set(c.stream, parts.pop() ?? "");
      out.push(...parts);
    }
    for (const rest of partial.values()) if (rest) out.push(rest);
    return out.slice(-this.maxLines).map(shorten);
  }
}

/** Characters shown of one line: an error report is for people, not a dump. */
const maxLineChars = 400;

function shorten(line: string): string {
  return line.length <= maxLineChars
    ? line
    : `${line.slice(0, maxLineChars)}…(${line.length - maxLineChars} more characters)`;
}
