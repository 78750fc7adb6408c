/**
 * Bytewise string ordering, the order Go uses for strings: Go compares the UTF-8 bytes
 * (`strings.Compare`, `sort.Strings`, and protobuf-go's deterministic map-key sort). JS `<`
 * compares UTF-16 code units and `localeCompare` follows the locale, and both disagree with
 * Go on some inputs (for example U+FF5E sorts after U+1F600 in UTF-16 but before it in UTF-8).
 */

import { HlnError } from "../errors.js";

const encoder = new TextEncoder();

/** Orders two strings by their UTF-8 bytes: negative, zero or positive, like Go's strings.Compare. */
export function compareBytewise(a: string, b: string): number {
  if (a === b) return 0;
  // Sorting a Definition's thousand digests calls this some ten thousand times: compare
  // code units where that gives the UTF-8 order, without encoding. Two code units that are
  // not surrogates order as their UTF-8 bytes do; a surrogate at the first difference, or
  // one that a prefix ends on, takes the encoding path (it can stand for a code point above
  // U+FFFF, or for U+FFFD when lone, as TextEncoder writes it).
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (isSurrogate(x) || isSurrogate(y)) return compareEncoded(a, b);
    return x - y;
  }
  if (n > 0 && isSurrogate((a.length < b.length ? a : b).charCodeAt(n - 1)))
    return compareEncoded(a, b);
  return a.length - b.length;
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

function compareEncoded(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * True for the keys a JS object always enumerates first, in numeric order, whatever the
 * insertion order: canonical array indices (ECMAScript "array index", 0 to 2^32-2).
 */
export function isIntegerLikeKey(key: string): boolean {
  return /^(?:0|[1-9][0-9]*)$/.test(key) && Number(key) <= 4294967294;
}

/**
 * Returns a copy of `record` whose keys enumerate in bytewise order. @bufbuild/protobuf writes
 * map entries in the object's enumeration order, so this is how a map field gets Go's
 * deterministic order. Throws E_INTERNAL on an integer-like key: JS would move it to the
 * front and the order could not be honoured.
 */
export function sortRecordBytewise<V>(
  record: Readonly<Record<string, V>>,
  what: string,
): Record<string, V> {
  const keys = Object.keys(record);
  for (const key of keys) {
    if (isIntegerLikeKey(key)) {
      throw new HlnError(
        "E_INTERNAL",
        `${what}: map key ${JSON.stringify(key)} is integer-like; JS objects reorder such keys, so it cannot be marshaled deterministically`,
      );
    }
  }
  keys.sort(compareBytewise);
  const out: Record<string, V> = {};
  for (const key of keys) out[key] = record[key]!;
  return out;
}
