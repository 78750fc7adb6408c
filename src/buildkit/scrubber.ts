/**
 * Redacts secret values from text before hln prints it (step logs, error output).
 * Pure: no I/O, no clock.
 *
 * Each registered value is searched for in these forms:
 * - the value itself (as UTF-8 text), and the value without a trailing line break, since
 *   secrets read from files usually end with one that the printed text lacks;
 * - its standard base64 and base64url encodings, with and without `=` padding;
 * - the part of its base64 / base64url encoding that stays the same wherever the value sits
 *   inside a longer base64 string (an `Authorization: Basic` header encodes `user:password`,
 *   so the password starts at any byte offset). Base64 works in 3-byte groups, so there are
 *   three alignments; for each, the characters that also depend on neighbouring bytes are
 *   left out.
 *
 * Values shorter than {@link MIN_SECRET_BYTES} bytes, and derived forms shorter than that
 * many characters, are not registered: they would match ordinary text everywhere and hide
 * more than they protect.
 */

/** Shortest value, in bytes, that is registered; shorter ones are ignored. */
export const MIN_SECRET_BYTES = 3;

/** What every occurrence is replaced with. */
export const REDACTED = "***";

export interface Scrubber {
  /**
   * Registers a secret. Strings are taken as UTF-8. Values shorter than
   * {@link MIN_SECRET_BYTES} bytes are ignored; registering a value twice is harmless.
   */
  add(value: Uint8Array | string): void;
  /** `text` with every occurrence of every registered form replaced by `***`. */
  scrub(text: string): string;
  /**
   * The `[start, end)` ranges of `text` that `scrub` replaces, sorted by start; ranges may
   * overlap (two secrets sharing characters).
   */
  ranges(text: string): Array<readonly [start: number, end: number]>;
  /** Length, in UTF-16 code units, of the longest registered form; 0 when none. */
  readonly maxLength: number;
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function toBase64Url(b64: string): string {
  return b64.replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * The base64 characters that depend only on `bytes` when they start at byte offset
 * `offset` (0, 1 or 2) of a 3-byte group. Character i of an encoding covers bits
 * [6i, 6i + 6); the value covers bits [8 * offset, 8 * (offset + n)).
 */
function stableBase64Core(bytes: Uint8Array, offset: number): string {
  const padded = new Uint8Array(offset + bytes.length);
  padded.set(bytes, offset);
  const b64 = Buffer.from(padded).toString("base64");
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + bytes.length)) / 6);
  return end > first ? b64.slice(first, end) : "";
}

/** Every form of `bytes` the scrubber looks for. */
export function secretForms(bytes: Uint8Array): string[] {
  const forms = new Set<string>();
  const b64 = Buffer.from(bytes).toString("base64");
  const unpadded = b64.replace(/=+$/, "");
  for (const f of [b64, unpadded]) {
    forms.add(f);
    forms.add(toBase64Url(f));
  }
  for (const offset of [0, 1, 2]) {
    const core = stableBase64Core(bytes, offset);
    forms.add(core);
    forms.add(toBase64Url(core));
  }
  // The length rule holds for the value in bytes (checked by the caller) and for the
  // derived forms in characters; a 3-byte value may be a 2-character string.
  const out = [...forms].filter((f) => f.length >= MIN_SECRET_BYTES);
  try {
    if (bytes.length > 0) out.unshift(strictUtf8.decode(bytes));
  } catch {
    // Not UTF-8: it cannot appear verbatim in decoded text; its encodings still can.
  }
  return [...new Set(out)];
}

/**
 * A scrubber with no secrets yet.
 *
 * @example
 * const s = createScrubber();
 * s.add("hunter2");
 * s.scrub("password=hunter2"); // "password=***"
 */
export function createScrubber(): Scrubber {
  const patterns = new Set<string>();
  let maxLength = 0;

  const ranges = (text: string): Array<readonly [number, number]> => {
    const found: Array<readonly [number, number]> = [];
    for (const p of patterns) {
      // Overlapping occurrences count too: "aaaa" holds "aaa" at 0 and 1.
      for (let i = text.indexOf(p); i !== -1; i = text.indexOf(p, i + 1)) {
        found.push([i, i + p.length]);
      }
    }
    return found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  };

  return {
    add(value) {
      const bytes = typeof value === "string" ? encoder.encode(value) : value;
      if (bytes.length < MIN_SECRET_BYTES) return;
      const variants = [bytes];
      let end = bytes.length;
      while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
      if (end !== bytes.length && end >= MIN_SECRET_BYTES) variants.push(bytes.subarray(0, end));
      for (const v of variants) {
        for (const f of secretForms(v)) {
          patterns.add(f);
          maxLength = Math.max(maxLength, f.length);
        }
      }
    },
    scrub(text) {
      return render(text, ranges(text), text.length);
    },
    ranges,
    get maxLength() {
      return maxLength;
    },
  };
}

/**
 * `text.slice(0, end)` with the given ranges (sorted by start, clipped to `end`) replaced
 * by `***`; overlapping or touching ranges become one `***`.
 */
function render(text: string, ranges: Array<readonly [number, number]>, end: number): string {
  let out = "";
  let pos = 0;
  let i = 0;
  while (i < ranges.length && ranges[i]![0] < end) {
    const start = ranges[i]![0];
    let stop = ranges[i]![1];
    for (i++; i < ranges.length && ranges[i]![0] <= stop && ranges[i]![0] < end; i++) {
      stop = Math.max(stop, ranges[i]![1]);
    }
    out += text.slice(pos, start) + REDACTED;
    pos = Math.min(stop, end);
  }
  return out + text.slice(pos, end);
}

export interface StreamScrubber {
  /**
   * Takes the next chunk; returns the text that is now safe to print. The last
   * `maxLength - 1` characters (more while a secret may still be completing) are held
   * back, so a secret split across chunks is still caught.
   */
  push(chunk: string): string;
  /** Everything still held back, scrubbed. The stream can be reused afterwards. */
  flush(): string;
}

/**
 * Scrubs a stream that arrives in chunks (a step's log). Register secrets on `scrubber`
 * before pushing: text already returned cannot be taken back.
 *
 * Where a secret ends just inside the returned text and another begins right after it, the
 * output may read `******` instead of `***`.
 *
 * @example
 * const stream = createStreamScrubber(scrubber);
 * for await (const chunk of logs) process.stdout.write(stream.push(chunk));
 * process.stdout.write(stream.flush());
 */
export function createStreamScrubber(scrubber: Scrubber): StreamScrubber {
  let buf = "";
  return {
    push(chunk) {
      buf += chunk;
      let cut = buf.length - Math.max(0, scrubber.maxLength - 1);
      // Never split a UTF-16 surrogate pair between two outputs.
      if (cut > 0 && isHighSurrogate(buf.charCodeAt(cut - 1))) cut--;
      if (cut <= 0) return "";
      // Every occurrence that starts before `cut` lies wholly in `buf`: none is longer than
      // maxLength. The first one that crosses `cut` is held back whole by cutting at its
      // start; any other occurrence crossing that earlier cut ends inside it, so the part
      // held back is still redacted next round.
      const found = scrubber.ranges(buf);
      const crossing = found.find(([s, e]) => s < cut && e > cut);
      if (crossing) cut = crossing[0];
      const out = render(buf, found, cut);
      buf = buf.slice(cut);
      return out;
    },
    flush() {
      const out = scrubber.scrub(buf);
      buf = "";
      return out;
    },
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
