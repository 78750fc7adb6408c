/**
 * Turns BuildKit log chunks into lines. BuildKit's `VertexLog.msg` is a raw slice of a step's
 * stdout or stderr: not line-aligned, and a multi-byte UTF-8 character can be split between two
 * chunks. So each (vertex, stream) pair gets one splitter that carries both the undecoded bytes
 * (`TextDecoder` in streaming mode) and the unterminated tail of the last line.
 */

export interface LineSplitter {
  /** Feeds a chunk; returns the lines it completed, without their `\n` (or `\r\n`). */
  push(chunk: Uint8Array): string[];
  /** The text received after the last newline (may be empty). */
  readonly partial: string;
  /** Ends the stream: returns the partial line as a final line, if there is one. */
  flush(): string[];
}

/**
 * @example
 * const s = createLineSplitter();
 * s.push(new TextEncoder().encode("hel")); // []
 * s.push(new TextEncoder().encode("lo\nwor")); // ["hello"]
 * s.flush(); // ["wor"]
 */
export function createLineSplitter(): LineSplitter {
  // fatal: false: invalid bytes become U+FFFD instead of throwing on a step's binary output.
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let partial = "";
  return {
    get partial() {
      return partial;
    },
    push(chunk) {
      const text = partial + decoder.decode(chunk, { stream: true });
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      return parts.map(stripCR);
    },
    flush() {
      const text = partial + decoder.decode();
      partial = "";
      return text === "" ? [] : [stripCR(text)];
    },
  };
}

function stripCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * What a terminal would show for a line that redraws itself with carriage returns (progress
 * bars from curl, apt, pip): the last non-empty `\r`-separated segment. When `complete` is false
 * the text after the last `\r` is still being written, so it is left out.
 */
export function visibleSegment(line: string, complete: boolean): string {
  const segments = line.split("\r");
  if (!complete) segments.pop();
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i];
    if (s) return s;
  }
  return "";
}
