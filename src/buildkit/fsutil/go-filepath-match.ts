/**
 * Go's filepath.Match (path/filepath/match.go), over code points rather than bytes. It is used
 * to reject malformed patterns up front (patternmatcher.New matches each against ".") and by
 * followpaths for wildcards in a path's last element.
 */
import { HlnError } from "../../errors.js";

/** A malformed pattern; Go's `filepath.ErrBadPattern`. */
export class BadPattern extends Error {
  constructor(detail = "syntax error in pattern") {
    super(detail);
  }
}

/** What a malformed pattern tells the user: one line naming the pattern. */
export function patternError(pattern: string, cause?: unknown): HlnError {
  return new HlnError("E_INPUT_INVALID", `syntax error in pattern ${JSON.stringify(pattern)}`, {
    cause,
  });
}

interface Chunk {
  star: boolean;
  chunk: string[];
  rest: string[];
}

function scanChunk(pattern: string[]): Chunk {
  let p = pattern;
  let star = false;
  while (p.length > 0 && p[0] === "*") {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      // A trailing backslash is reported by matchChunk.
      if (i + 1 < p.length) i++;
    } else if (c === "[") inRange = true;
    else if (c === "]") inRange = false;
    else if (c === "*" && !inRange) break;
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** One character of a bracket expression, possibly backslash-escaped. */
function classChar(chunk: string[], at: number): { cp: number; next: number } {
  let i = at;
  const c = chunk[i];
  if (c === undefined || c === "-" || c === "]") throw new BadPattern();
  if (c === "\\") {
    i++;
    if (i >= chunk.length) throw new BadPattern();
  }
  const cp = chunk[i]!.codePointAt(0)!;
  // The class must still be closed after this character.
  if (i + 1 >= chunk.length) throw new BadPattern();
  return { cp, next: i + 1 };
}

/**
 * Matches the star-free `chunk` against the start of `s[from..]`; returns the index after the
 * match or -1. Like Go, it keeps parsing after a mismatch so that a malformed chunk is always
 * reported.
 */
function matchChunk(chunk: string[], s: string[], from: number): number {
  let failed = false;
  let si = from;
  let k = 0;
  while (k < chunk.length) {
    if (!failed && si >= s.length) failed = true;
    const c = chunk[k]!;
    if (c === "[") {
      let r = 0;
      if (!failed) r = s[si++]!.codePointAt(0)!;
      k++;
      let negated = false;
      if (chunk[k] === "^") {
        negated = true;
        k++;
      }
      let match = false;
      let ranges = 0;
      for (;;) {
        if (chunk[k] === "]" && ranges > 0) {
          k++;
          break;
        }
        const lo = classChar(chunk, k);
        let hi = lo.cp;
        k = lo.next;
        if (chunk[k] === "-") {
          const h = classChar(chunk, k + 1);
          hi = h.cp;
          k = h.next;
        }
        if (lo.cp <= r && r <= hi) match = true;
        ranges++;
      }
      if (match === negated) failed = true;
    } else if (c === "?") {
      if (!failed) {
        if (s[si] === "/") failed = true;
        si++;
      }
      k++;
    } else {
      if (c === "\\") {
        k++;
        if (k >= chunk.length) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[k] !== s[si]) failed = true;
        si++;
      }
      k++;
    }
  }
  return failed ? -1 : si;
}

/**
 * Go's `filepath.Match` on a slash-separated name: `*` and `?` stop at `/`, `[...]` with `^`
 * negation and ranges, `\` escapes. Throws an `E_INPUT_INVALID` HlnError for a malformed pattern.
 */
export function matchGlob(pattern: string, name: string): boolean {
  try {
    return goMatch(Array.from(pattern), Array.from(name));
  } catch (err) {
    if (err instanceof BadPattern) throw patternError(pattern, err);
    throw err;
  }
}

function goMatch(pattern: string[], name: string[]): boolean {
  let p = pattern;
  let n = 0;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) {
      // A trailing star matches the rest of the name unless it holds a separator.
      return !name.slice(n).includes("/");
    }
    const t = matchChunk(chunk, name, n);
    if (t >= 0 && (t === name.length || p.length > 0)) {
      n = t;
      continue;
    }
    if (star) {
      for (let i = n; i < name.length && name[i] !== "/"; i++) {
        const u = matchChunk(chunk, name, i + 1);
        if (u >= 0) {
          // The last chunk must consume the whole name.
          if (p.length === 0 && u < name.length) continue;
          n = u;
          continue outer;
        }
      }
    }
    // No match; still report a malformed remainder, as Go does.
    while (p.length > 0) {
      const next = scanChunk(p);
      p = next.rest;
      matchChunk(next.chunk, [], 0);
    }
    return false;
  }
  return n === name.length;
}

/** Whether a path element holds `*`, `?` or `[` outside a backslash escape (fsutil followlinks.go). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}
