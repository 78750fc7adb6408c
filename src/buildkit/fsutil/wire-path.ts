/**
 * Slash-separated path helpers with Go's semantics, for the relative paths fsutil puts on the
 * wire. Ordering is by UTF-8 bytes, as Go compares strings (os.ReadDir sorts that way).
 */
import { cleanPath } from "../../llb/go-path.js";

export { cleanPath };

/**
 * Compares two strings by their UTF-8 bytes without encoding them. UTF-8 byte order equals
 * code point order, which differs from JS's UTF-16 order only when a surrogate pair meets a
 * code unit in U+E000..U+FFFF; comparing code points at the first difference handles that.
 */
export function compareBytewise(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const cx = a.codePointAt(i) ?? x;
    const cy = b.codePointAt(i) ?? y;
    return cx < cy ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * fsutil's ComparePath (validator.go): bytewise, except that "/" sorts before every other
 * byte, so a directory's children come right after it.
 */
export function compareWirePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    const cx = a.codePointAt(i) ?? x;
    const cy = b.codePointAt(i) ?? y;
    return cx < cy ? -1 : 1;
  }
  return a.length - b.length;
}

/** Go's `path.Dir`: everything before the last slash, cleaned; "." when there is none. */
export function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return cleanPath(p.slice(0, i + 1));
}

/** Go's `path.Base` for a cleaned relative path: the part after the last slash. */
export function baseOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
}

/** Go's `path.Join`: non-empty elements joined with "/", then cleaned; "" when all are empty. */
export function joinPath(...parts: string[]): string {
  const kept = parts.filter((p) => p !== "");
  return kept.length === 0 ? "" : cleanPath(kept.join("/"));
}
