/**
 * Request metadata as BuildKit sends it. Multi-valued keys (`include-patterns`,
 * `exclude-patterns`, `followpaths`) arrive as repeated HTTP/2 header fields; Node's
 * header object joins them with ", ", which corrupts patterns that contain a comma. The
 * session server therefore re-packs the raw header list into one header of its own,
 * which handlers read back with `sessionMetadata`.
 */
import type { HandlerContext } from "@connectrpc/connect";

export const rawMetadataHeader = "x-hln-raw-metadata";

/** Groups a raw header list ([k1, v1, k2, v2, ...]) by lowercased key, keeping order. */
export function groupRawHeaders(raw: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    if (key.startsWith(":") || key === rawMetadataHeader) continue;
    const values = out[key] ?? [];
    values.push(raw[i + 1]!);
    out[key] = values;
  }
  return out;
}

/**
 * Every value of `key`. Since BuildKit 0.12 a key whose values hold non-ASCII text comes
 * with `<key>-encoded: 1`, and each value is then query-escaped (session/filesync).
 */
export function sessionMetadata(ctx: HandlerContext, key: string): string[] {
  const packed = ctx.requestHeader.get(rawMetadataHeader);
  const all = packed ? (JSON.parse(packed) as Record<string, string[]>) : {};
  return metadataValues(all, key);
}

/** Every value of `key` in headers grouped by `groupRawHeaders`, decoded as `sessionMetadata` does. */
export function metadataValues(all: Record<string, string[]>, key: string): string[] {
  const values = all[key] ?? [];
  if (all[`${key}-encoded`]?.[0] !== "1") return values;
  return values.map((v) => decodeURIComponent(v.replaceAll("+", " ")));
}
