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
import { matchGlob, patternError } from "./go-filepath-match.js";
import { goRegexpToJs } from "./go-regexp.js";
import { cleanPath, dirOf } from "./wire-path.js";

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
