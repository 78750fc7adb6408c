/**
 * Go RE2 syntax -> JS RegExp source (with the `u` flag), for the regular expressions that
 * patternmatcher builds. Go's classes \d \s \w and the POSIX classes are ASCII-only and its
 * `.` excludes only "\n", so everything is spelled out as explicit code point ranges.
 */
import { BadPattern } from "./go-filepath-match.js";

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
