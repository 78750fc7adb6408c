/**
 * .dockerignore pattern semantics, as moby/patternmatcher implements them and as BuildKit
 * applies them to `include-patterns` / `exclude-patterns` in a FileSync transfer.
 *
 * A pattern is cleaned with Go's `path.Clean`, a leading `!` makes it an exception, and it is
 * turned into one of four matchers exactly as patternmatcher does: an exact string, a prefix
 * (`dir/**`), a suffix (`**` at the very start) or a regular expression in which `*` and `?`
 * never cross `/` and `**` spans any number of directories. The last pattern that matches a
 * path (or any of its parent directories) decides. The regular expression is first written
 * in Go's RE2 syntax, as patternmatcher writes it, and then translated to a JS RegExp, so
 * odd patterns (`[*]`, `\.`, `[[:digit:]]`) mean what they mean to Docker.
 */
import { HlnError } from "../../errors.js";
import { cleanPath, dirOf } from "./wire-path.js";

/** A malformed pattern; Go's `filepath.ErrBadPattern`. */
class BadPattern extends Error {
  constructor(detail = "syntax error in pattern") {
    super(detail);
  }
}

function patternError(pattern: string, cause?: unknown): HlnError {
  return new HlnError("E_INPUT_INVALID", `syntax error in pattern ${JSON.stringify(pattern)}`, {
    cause,
  });
}

// ---------------------------------------------------------------------------------------
// Go's filepath.Match (path/filepath/match.go), over code points rather than bytes. It is used
// to reject malformed patterns up front (patternmatcher.New matches each against ".") and by
// followpaths for wildcards in a path's last element.

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

// ---------------------------------------------------------------------------------------
// Go RE2 syntax -> JS RegExp source (with the `u` flag), for the regular expressions that
// patternmatcher builds. Go's classes \d \s \w and the POSIX classes are ASCII-only and its
// `.` excludes only "\n", so everything is spelled out as explicit code point ranges.

type Range = readonly [number, number];

const MAX_CODE_POINT = 0x10ffff;

const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

function negateRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function jsCodePoint(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function jsClass(ranges: readonly Range[]): string {
  if (ranges.length === 0) return "[]";
  let body = "";
  for (const [lo, hi] of ranges) {
    body += lo === hi ? jsCodePoint(lo) : `${jsCodePoint(lo)}-${jsCodePoint(hi)}`;
  }
  return `[${body}]`;
}

function jsLiteral(cp: number): string {
  const c = String.fromCodePoint(cp);
  return /^[\p{L}\p{N}_/ -]$/u.test(c) ? c : jsCodePoint(cp);
}

function isAsciiAlnum(c: string): boolean {
  return /^[0-9A-Za-z]$/.test(c);
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "7";
}

/** A single escaped character (Go regexp/syntax parseEscape); `at` points at the backslash. */
function regexEscape(src: string[], at: number): { cp: number; next: number } {
  const c = src[at + 1];
  if (c === undefined) throw new BadPattern("trailing backslash");
  let i = at + 2;
  const cp = c.codePointAt(0)!;
  if (cp < 0x80 && !isAsciiAlnum(c)) return { cp, next: i };
  if ((c >= "1" && c <= "7" && isOctal(src[i])) || c === "0") {
    let value = cp - 0x30;
    for (let d = 1; d < 3 && isOctal(src[i]); d++)
      value = value * 8 + (src[i++]!.charCodeAt(0) - 0x30);
    return { cp: value, next: i };
  }
  if (c === "x") {
    if (src[i] === "{") {
      let hex = "";
      i++;
      while (src[i] !== undefined && src[i] !== "}") hex += src[i++];
      if (src[i] !== "}" || !/^[0-9A-Fa-f]+$/.test(hex)) throw new BadPattern("invalid escape");
      const value = Number.parseInt(hex, 16);
      if (value > MAX_CODE_POINT) throw new BadPattern("invalid escape");
      return { cp: value, next: i + 1 };
    }
    const hex = `${src[i] ?? ""}${src[i + 1] ?? ""}`;
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new BadPattern("invalid escape");
    return { cp: Number.parseInt(hex, 16), next: i + 2 };
  }
  const controls: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
  const control = controls[c];
  if (control !== undefined) return { cp: control, next: i };
  // Unicode classes (\p, \P) and every other letter are not supported here; Go rejects
  // most of them too.
  throw new BadPattern(`invalid escape \\${c}`);
}

function perlClass(c: string | undefined): Range[] | undefined {
  if (c === undefined) return undefined;
  const ranges = PERL_CLASSES[c.toLowerCase()];
  if (ranges === undefined || !"dDsSwW".includes(c)) return undefined;
  return c === c.toUpperCase() ? negateRanges(ranges) : ranges;
}

/** A bracket expression (Go regexp/syntax parseClass); `at` points at "[". */
function regexClass(src: string[], at: number): { ranges: Range[]; next: number } {
  let i = at + 1;
  let negated = false;
  if (src[i] === "^") {
    negated = true;
    i++;
  }
  const ranges: Range[] = [];
  let first = true;
  for (;;) {
    const c = src[i];
    if (c === undefined) throw new BadPattern("missing closing ]");
    if (c === "]" && !first) {
      i++;
      break;
    }
    first = false;
    if (c === "[" && src[i + 1] === ":") {
      let end = i + 2;
      while (end + 1 < src.length && !(src[end] === ":" && src[end + 1] === "]")) end++;
      if (end + 1 < src.length) {
        let group = src.slice(i + 2, end).join("");
        const negatedGroup = group.startsWith("^");
        if (negatedGroup) group = group.slice(1);
        const found = Object.hasOwn(POSIX_CLASSES, group) ? POSIX_CLASSES[group] : undefined;
        if (found === undefined) throw new BadPattern("invalid character class range");
        ranges.push(...(negatedGroup ? negateRanges(found) : found));
        i = end + 2;
        continue;
      }
    }
    if (c === "\\") {
      const perl = perlClass(src[i + 1]);
      if (perl !== undefined) {
        ranges.push(...perl);
        i += 2;
        continue;
      }
    }
    const lo = classCharOf(src, i);
    let hi = lo.cp;
    i = lo.next;
    if (src[i] === "-" && src[i + 1] !== undefined && src[i + 1] !== "]") {
      const h = classCharOf(src, i + 1);
      hi = h.cp;
      i = h.next;
      if (hi < lo.cp) throw new BadPattern("invalid character class range");
    }
    ranges.push([lo.cp, hi]);
  }
  return { ranges: negated ? negateRanges(ranges) : ranges, next: i };
}

function classCharOf(src: string[], at: number): { cp: number; next: number } {
  const c = src[at];
  if (c === undefined) throw new BadPattern("missing closing ]");
  if (c === "\\") return regexEscape(src, at);
  return { cp: c.codePointAt(0)!, next: at + 1 };
}

/** Translates a Go RE2 expression (the subset patternmatcher produces) to a JS RegExp source. */
export function goRegexpToJs(goSource: string): string {
  const src = Array.from(goSource);
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") {
      const e = src[i + 1];
      const perl = perlClass(e);
      if (perl !== undefined) {
        out += jsClass(perl);
        i += 2;
      } else if (e === "b" || e === "B") {
        // Go's \b is ASCII word boundary, as is JS's without the i flag.
        out += `\\${e}`;
        i += 2;
      } else if (e === "A") {
        out += "^";
        i += 2;
      } else if (e === "z") {
        out += "$";
        i += 2;
      } else if (e === "Q") {
        i += 2;
        while (i < src.length && !(src[i] === "\\" && src[i + 1] === "E")) {
          out += jsLiteral(src[i]!.codePointAt(0)!);
          i++;
        }
        if (i < src.length) i += 2;
      } else {
        const esc = regexEscape(src, i);
        out += jsLiteral(esc.cp);
        i = esc.next;
      }
    } else if (c === "[") {
      const cls = regexClass(src, i);
      out += jsClass(cls.ranges);
      i = cls.next;
    } else if (c === ".") {
      out += "[^\\n]";
      i++;
    } else if ("^$*+?()|".includes(c)) {
      out += c;
      i++;
    } else {
      out += jsLiteral(c.codePointAt(0)!);
      i++;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Patterns

/** How a pattern is matched; patternmatcher picks the cheapest form that is exact. */
export type PatternKind = "exact" | "prefix" | "suffix" | "regexp";

/** One cleaned pattern. */
export interface IgnorePattern {
  /** The cleaned pattern without its leading `!`. */
  readonly text: string;
  /** A `!` exception: a match re-includes the path. */
  readonly exclusion: boolean;
  readonly kind: PatternKind;
  /** For `regexp` patterns: the Go regular expression patternmatcher would compile. */
  readonly goRegexp: string | undefined;
}

// Characters with no meaning in filepath.Match that would mean something in a regexp.
const REGEXP_SPECIALS = ".+()|{}$";

function compileGoRegexp(text: string): { kind: PatternKind; goRegexp: string | undefined } {
  const cps = Array.from(text);
  let re = "^";
  let kind: PatternKind = "exact";
  let k = 0;
  for (let i = 0; k < cps.length; i++) {
    const ch = cps[k++]!;
    if (ch === "*") {
      if (cps[k] === "*") {
        k++;
        // "**/" is the same as "**".
        if (cps[k] === "/") k++;
        if (k >= cps.length) {
          // A trailing "**" matches everything below, as in .gitignore.
          if (kind === "exact") kind = "prefix";
          else {
            re += ".*";
            kind = "regexp";
          }
        } else {
          // Any number of directories, including none.
          re += "(.*/)?";
          kind = "regexp";
        }
        if (i === 0) kind = "suffix";
      } else {
        re += "[^/]*";
        kind = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      kind = "regexp";
    } else if (REGEXP_SPECIALS.includes(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      if (k < cps.length) {
        re += `\\${cps[k++]}`;
        kind = "regexp";
      } else {
        re += "\\";
      }
    } else if (ch === "[" || ch === "]") {
      re += ch;
      kind = "regexp";
    } else {
      re += ch;
    }
  }
  return kind === "regexp" ? { kind, goRegexp: `${re}$` } : { kind, goRegexp: undefined };
}

class Pattern implements IgnorePattern {
  readonly kind: PatternKind;
  readonly goRegexp: string | undefined;
  private readonly regexp: RegExp | undefined;
  private readonly compileError: unknown;

  constructor(
    readonly text: string,
    readonly exclusion: boolean,
  ) {
    const compiled = compileGoRegexp(text);
    this.kind = compiled.kind;
    this.goRegexp = compiled.goRegexp;
    let regexp: RegExp | undefined;
    let compileError: unknown;
    if (compiled.goRegexp !== undefined) {
      try {
        regexp = new RegExp(goRegexpToJs(compiled.goRegexp), "u");
      } catch (err) {
        // patternmatcher accepts the pattern and fails when it is first used; so do we.
        compileError = err;
      }
    }
    this.regexp = regexp;
    this.compileError = compileError;
  }

  /** Whether `path` itself matches; throws for a pattern that does not compile. */
  test(path: string): boolean {
    switch (this.kind) {
      case "exact":
        return path === this.text;
      case "prefix":
        return path.startsWith(this.text.slice(0, -2));
      case "suffix": {
        const suffix = this.text.slice(2);
        if (path.endsWith(suffix)) return true;
        // "**/foo" also matches "foo" itself.
        return suffix.startsWith("/") && path === suffix.slice(1);
      }
      case "regexp":
        if (this.regexp === undefined) throw patternError(this.text, this.compileError);
        return this.regexp.test(path);
    }
  }

  /** `test` on the parents of a path: "a", "a/b" for "a/b/c". Errors count as no match. */
  testParents(parentPath: string): boolean {
    if (parentPath === ".") return false;
    const parts = parentPath.split("/");
    let prefix = "";
    for (const part of parts) {
      prefix = prefix === "" ? part : `${prefix}/${part}`;
      try {
        if (this.test(prefix)) return true;
      } catch {
        // patternmatcher ignores errors on parent directories.
      }
    }
    return false;
  }
}

/**
 * Per-pattern match results for a directory, handed to its children when walking so they need
 * not re-test their parents (patternmatcher MatchInfo). Opaque to callers.
 */
export interface MatchInfo {
  readonly parentMatched: readonly boolean[];
}

export interface PatternMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** Whether any pattern is a `!` exception. */
  readonly hasExclusions: boolean;
  /**
   * Whether `path` matches: the last pattern that matches the path or one of its parent
   * directories decides (patternmatcher MatchesOrParentMatches). The path is cleaned first;
   * "." never matches.
   */
  matches(path: string): boolean;
  /**
   * The same decision for a walk, given the result for the parent directory (undefined at the
   * top level). Once a pattern matched a directory it keeps matching everything below it
   * (patternmatcher MatchesUsingParentResults, which fsutil's walk uses).
   */
  matchesWithParent(
    path: string,
    parent: MatchInfo | undefined,
  ): { matched: boolean; info: MatchInfo };
  /**
   * For include patterns: false only when no pattern can match anything inside the directory
   * `dir`, so a walk may skip it (fsutil filter.go, which prunes only when every include
   * pattern is a plain path, ignoring a trailing "/*" or "/**").
   */
  mayMatchInside(dir: string): boolean;
  /**
   * For exclude patterns: whether a `!` exception could re-include something inside the
   * excluded directory `dir`, so a walk must still descend (same rule, applied to exceptions).
   */
  mayExceptInside(dir: string): boolean;
}

// Characters that make a pattern more than a plain path for fsutil's pruning.
const PATTERN_CHARS = "*[]?^\\";

function withoutTrailingGlob(text: string): string {
  let out = text;
  if (out.endsWith("/**")) out = out.slice(0, -3);
  if (out.endsWith("/*")) out = out.slice(0, -2);
  return out;
}

function isPlainPath(p: IgnorePattern): boolean {
  const text = withoutTrailingGlob(p.text);
  for (const c of PATTERN_CHARS) if (text.includes(c)) return false;
  return true;
}

function anyPrefixInside(patterns: readonly IgnorePattern[], dir: string): boolean {
  const dirSlash = `${dir}/`;
  return patterns.some((p) => `${withoutTrailingGlob(p.text)}/`.startsWith(dirSlash));
}

// Go's unicode.IsSpace, which strings.TrimSpace uses; JS's trim also strips U+FEFF and not U+0085.
const GO_SPACE =
  "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, "gu");

function goTrimSpace(s: string): string {
  return s.replace(GO_TRIM, "");
}

/**
 * Compiles .dockerignore-style patterns (patternmatcher.New): each is trimmed and cleaned,
 * empty ones are dropped, `!` marks an exception. Throws `E_INPUT_INVALID` for a lone `!` or a
 * pattern Go's `filepath.Match` rejects (an unclosed `[`, a trailing `\`...).
 *
 * @example
 * const m = createPatternMatcher(["docs", "!docs/README.md"]);
 * m.matches("docs/guide.md"); // true
 * m.matches("docs/README.md"); // false
 */
export function createPatternMatcher(patterns: readonly string[]): PatternMatcher {
  const compiled: Pattern[] = [];
  for (const raw of patterns) {
    let p = goTrimSpace(raw);
    if (p === "") continue;
    p = cleanPath(p);
    let exclusion = false;
    if (p.startsWith("!")) {
      if (p.length === 1) {
        throw new HlnError("E_INPUT_INVALID", 'illegal exclusion pattern: "!"');
      }
      exclusion = true;
      p = p.slice(1);
    }
    // Match against "." only for its syntax check, as patternmatcher.New does.
    matchGlob(p, ".");
    compiled.push(new Pattern(p, exclusion));
  }
  return new Matcher(compiled);
}

class Matcher implements PatternMatcher {
  readonly hasExclusions: boolean;
  private readonly inclusions: readonly Pattern[];
  private readonly exclusions: readonly Pattern[];
  private readonly onlyPlainInclusions: boolean;
  private readonly onlyPlainExclusions: boolean;

  constructor(readonly patterns: readonly Pattern[]) {
    this.inclusions = patterns.filter((p) => !p.exclusion);
    this.exclusions = patterns.filter((p) => p.exclusion);
    this.hasExclusions = this.exclusions.length > 0;
    this.onlyPlainInclusions = this.inclusions.every(isPlainPath);
    this.onlyPlainExclusions = this.exclusions.every(isPlainPath);
  }

  matches(path: string): boolean {
    const file = cleanPath(path);
    if (file === ".") return false;
    const parentPath = dirOf(file);
    let matched = false;
    for (const pattern of this.patterns) {
      // An inclusion cannot change a match, nor an exception a non-match.
      if (pattern.exclusion !== matched) continue;
      const match = pattern.test(file) || pattern.testParents(parentPath);
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  matchesWithParent(
    path: string,
    parent: MatchInfo | undefined,
  ): { matched: boolean; info: MatchInfo } {
    const known = parent?.parentMatched ?? [];
    if (known.length !== 0 && known.length !== this.patterns.length) {
      throw new HlnError("E_INTERNAL", "pattern match info from another matcher");
    }
    let matched = false;
    const result: boolean[] = new Array(this.patterns.length).fill(false);
    this.patterns.forEach((pattern, i) => {
      let match = known[i] === true;
      if (!match) {
        if (pattern.exclusion !== matched) return;
        match = pattern.test(path);
        // Without the parent's results, check the parents as MatchesOrParentMatches does.
        if (!match && known.length === 0) match = pattern.testParents(dirOf(path));
      }
      result[i] = match;
      if (match) matched = !pattern.exclusion;
    });
    return { matched, info: { parentMatched: result } };
  }

  mayMatchInside(dir: string): boolean {
    if (!this.onlyPlainInclusions) return true;
    return anyPrefixInside(this.inclusions, dir);
  }

  mayExceptInside(dir: string): boolean {
    if (!this.hasExclusions) return false;
    if (!this.onlyPlainExclusions) return true;
    return anyPrefixInside(this.exclusions, dir);
  }
}

/**
 * Reads an ignore file the way Docker does (moby/patternmatcher ignorefile.ReadAll): a UTF-8
 * BOM is dropped, lines starting with `#` are comments, the rest are trimmed and cleaned, empty
 * lines are skipped, and a leading "/" is removed (also after `!`), so "/a" and "a" are the
 * same pattern. A `#` after leading spaces is not a comment.
 */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  const lines = text.split("\n");
  lines.forEach((rawLine, index) => {
    let line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (index === 0 && line.startsWith("\uFEFF")) line = line.slice(1);
    if (line.startsWith("#")) return;
    let pattern = goTrimSpace(line);
    if (pattern === "") return;
    const invert = pattern.startsWith("!");
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  });
  return out;
}
