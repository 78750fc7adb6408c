/**
 * OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) and the
 * client's part of BuildKit's `local` cache. BuildKit reads and writes the blobs itself,
 * through the session's content store (see oci-layout-store.ts); `index.json` is the
 * client's: before the solve it turns a tag into the digest BuildKit requires, after the
 * solve it records the cache manifest BuildKit reports under the tag (the Go client does
 * both, client/solve.go parseCacheOptions and client/ociindex).
 *
 * The index logic is pure; the two functions at the end add the file reads and writes.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { HlnError, throwIfAborted } from "../errors.js";
import { makeDirectories } from "../make-directories.js";
import { replaceFile } from "../replace-file.js";
import { fsError, isNotFound } from "./fsutil/fs-error.js";

/** An OCI content descriptor. Fields hln does not know are kept as they were. */
export interface OciDescriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** An OCI image index (`index.json`). Fields hln does not know are kept as they were. */
export interface OciIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: OciDescriptor[];
  [field: string]: unknown;
}

/** The annotation that names a tag in an image layout (image-spec annotations.md). */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** The `oci-layout` file's content (image-spec image-layout.md). */
export const OCI_LAYOUT_FILE = '{"imageLayoutVersion":"1.0.0"}';
/**
 * The exporter response key under which BuildKit's content-based cache exporters put the
 * JSON descriptor of the cache manifest (cache/remotecache/export.go
 * ExporterResponseManifestDesc; client/solve.go reads the same literal).
 */
export const CACHE_MANIFEST_RESPONSE_KEY = "cache.manifest";

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * The content store ID BuildKit asks the session for, for a local cache `dest` or `src`:
 * the prefix plus the attribute exactly as sent (cache/remotecache/local/local.go), so a
 * relative path stays relative here too. BuildKit sends the ID as gRPC metadata, which
 * grpc-go refuses to send unless it is printable ASCII ("contains value with non-printable
 * ASCII characters"), so such a directory fails here, before the solve.
 *
 * @example localCacheStoreId("./cache") // "local:./cache"
 */
export function localCacheStoreId(dir: string): string {
  if (!/^[\x20-\x7e]+$/.test(dir)) {
    throw new HlnError(
      "E_USAGE",
      `local cache directory ${JSON.stringify(dir)}: BuildKit can only name a directory whose path is printable ASCII`,
      { hint: "choose a path without accents, other non-ASCII letters or control characters" },
    );
  }
  return `local:${dir}`;
}

/** The tag a local cache entry is filed under: attr `tag`, `latest` when absent or empty. */
export function localCacheTag(attrs: Readonly<Record<string, string>>): string {
  return attrs.tag || "latest";
}

/**
 * Checks the text of an `index.json`. `file` names it in the error.
 *
 * @example parseOciIndex('{"schemaVersion":2,"manifests":[]}', "cache/index.json")
 */
export function parseOciIndex(text: string, file: string): OciIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HlnError("E_INPUT_INVALID", `${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const bad = (why: string) =>
    new HlnError("E_INPUT_INVALID", `${file} is not an OCI image index: ${why}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("expected a JSON object");
  }
  const index = value as Record<string, unknown>;
  const manifests = index.manifests ?? [];
  if (!Array.isArray(manifests)) throw bad('"manifests" is not an array');
  manifests.forEach((m: unknown, i) => {
    const d = m as Partial<OciDescriptor> | null;
    if (typeof d !== "object" || d === null || typeof d.digest !== "string") {
      throw bad(`manifests[${i}] has no digest`);
    }
    if (typeof d.size !== "number") throw bad(`manifests[${i}] has no size`);
    const a = d.annotations;
    if (a !== undefined && (typeof a !== "object" || a === null || Array.isArray(a))) {
      throw bad(`manifests[${i}].annotations is not an object`);
    }
  });
  return {
    ...index,
    schemaVersion: typeof index.schemaVersion === "number" ? index.schemaVersion : 2,
    manifests,
  } as OciIndex;
}

/**
 * The descriptor filed under `tag`. Like the Go client (client/ociindex Get), the first
 * match wins.
 *
 * @example findTag(index, "latest")?.digest
 */
export function findTag(index: OciIndex, tag: string): OciDescriptor | undefined {
  return index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
}

/**
 * A copy of `index` (or of a new, empty index) with `desc` filed under `tag`: entries that
 * carried the tag are dropped, every other entry keeps its place, and the new entry comes
 * last, as client/ociindex insertDesc does.
 *
 * @example withTag(undefined, "latest", { mediaType, digest, size })
 */
export function withTag(index: OciIndex | undefined, tag: string, desc: OciDescriptor): OciIndex {
  const base: OciIndex = index ?? {
    schemaVersion: 2,
    mediaType: OCI_INDEX_MEDIA_TYPE,
    manifests: [],
  };
  const entry: OciDescriptor = {
    ...desc,
    annotations: { ...desc.annotations, [REF_NAME_ANNOTATION]: tag },
  };
  return {
    ...base,
    schemaVersion: base.schemaVersion || 2,
    manifests: [
      ...base.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag),
      entry,
    ],
  };
}

/**
 * The attrs to send BuildKit for a `local` cache import. BuildKit needs the manifest
 * digest ("local cache importer requires explicit digest", local.go); unless the user
 * gave one, it comes from `index` (the content of `<src>/index.json`, undefined when the
 * file does not exist) by tag. Every other attr is sent as given.
 *
 * The Go client only warns and imports nothing when the tag or the index is missing; hln
 * fails instead, because a cache that is silently not used is hard to notice.
 *
 * @example
 * resolveLocalCacheImport({ src: "cache" }, index) // { src: "cache", digest: "sha256:…" }
 */
export function resolveLocalCacheImport(
  attrs: Readonly<Record<string, string>>,
  index: OciIndex | undefined,
): Record<string, string> {
  const src = attrs.src;
  if (!src) throw new HlnError("E_USAGE", "a local cache import needs src (the cache directory)");
  localCacheStoreId(src);
  if (attrs.digest) {
    if (!DIGEST.test(attrs.digest)) {
      throw new HlnError(
        "E_USAGE",
        `local cache import from ${src}: digest ${JSON.stringify(attrs.digest)} is not a sha256 digest`,
      );
    }
    return { ...attrs };
  }
  const tag = localCacheTag(attrs);
  const file = join(src, "index.json");
  if (index === undefined) {
    throw new HlnError("E_USAGE", `no cache to import from ${src}: ${file} does not exist`, {
      hint: `export one first with type=local,dest=${src}, or give the manifest with digest=sha256:…`,
    });
  }
  const desc = findTag(index, tag);
  if (desc === undefined) {
    const tags = index.manifests.flatMap((m) => m.annotations?.[REF_NAME_ANNOTATION] ?? []);
    throw new HlnError("E_USAGE", `no cache tagged ${JSON.stringify(tag)} in ${file}`, {
      hint: tags.length
        ? `tags there: ${tags.map((t) => JSON.stringify(t)).join(", ")}`
        : "it holds no tagged entries",
    });
  }
  if (!DIGEST.test(desc.digest)) {
    throw new HlnError(
      "E_INPUT_INVALID",
      `${file}: the entry tagged ${JSON.stringify(tag)} has digest ${JSON.stringify(desc.digest)}, not a sha256 digest`,
    );
  }
  return { ...attrs, digest: desc.digest };
}

/**
 * The cache manifest descriptor in a solve's exporter response, or undefined when there is
 * none (no content-based cache export ran, or BuildKit skipped it for an empty result).
 *
 * @example cacheManifest(result.exporterResponse)?.digest
 */
export function cacheManifest(
  exporterResponse: Readonly<Record<string, string>>,
): OciDescriptor | undefined {
  const text = exporterResponse[CACHE_MANIFEST_RESPONSE_KEY];
  if (!text) return undefined;
  let desc: Partial<OciDescriptor> | null;
  try {
    desc = JSON.parse(text) as Partial<OciDescriptor> | null;
  } catch (err) {
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `BuildKit's ${CACHE_MANIFEST_RESPONSE_KEY} is not JSON`,
      {
        cause: err,
      },
    );
  }
  if (
    typeof desc !== "object" ||
    desc === null ||
    typeof desc.digest !== "string" ||
    !DIGEST.test(desc.digest) ||
    typeof desc.size !== "number"
  ) {
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `BuildKit's ${CACHE_MANIFEST_RESPONSE_KEY} is not a descriptor: ${text.slice(0, 200)}`,
    );
  }
  return desc as OciDescriptor;
}

/** Reads `<dir>/index.json`; undefined when it does not exist. */
export async function readOciIndex(
  dir: string,
  options: { signal?: AbortSignal } = {},
): Promise<OciIndex | undefined> {
  const file = join(dir, "index.json");
  let text: string;
  try {
    text = await readFile(file, { encoding: "utf8", signal: options.signal });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw fsError(err, `cannot read ${file}`);
  }
  return parseOciIndex(text, file);
}

/**
 * Before a solve: the attrs of a `local` cache import with the digest resolved from
 * `<src>/index.json` (see resolveLocalCacheImport).
 *
 * @example
 * const imports = [{ type: "local", attrs: await prepareLocalCacheImport({ src: "cache" }) }];
 */
export async function prepareLocalCacheImport(
  attrs: Readonly<Record<string, string>>,
  options: { signal?: AbortSignal } = {},
): Promise<Record<string, string>> {
  if (attrs.digest || !attrs.src) return resolveLocalCacheImport(attrs, undefined);
  return resolveLocalCacheImport(attrs, await readOciIndex(attrs.src, options));
}

/**
 * After a solve with a `local` cache export: files the cache manifest from the exporter
 * response under the tag in `<dest>/index.json`, keeping every other entry, and writes
 * `oci-layout` if it is missing. `index.json` is replaced in one rename, so a reader sees
 * the old index or the new one, never a mix; two exports racing for the same directory
 * may still lose one of their entries (the Go client takes a file lock for this).
 * Returns the descriptor filed, or undefined when the response holds none.
 *
 * @example
 * const res = await solve(conn, { ..., cacheExports: [{ type: "local", attrs: { dest } }] });
 * await recordLocalCacheExport({ dest }, res.exporterResponse);
 */
export async function recordLocalCacheExport(
  attrs: Readonly<Record<string, string>>,
  exporterResponse: Readonly<Record<string, string>>,
  options: { signal?: AbortSignal } = {},
): Promise<OciDescriptor | undefined> {
  const dest = attrs.dest;
  if (!dest) throw new HlnError("E_USAGE", "a local cache export needs dest (the cache directory)");
  const desc = cacheManifest(exporterResponse);
  if (desc === undefined) return undefined;
  const { signal } = options;
  const dir = resolve(dest);
  try {
    await makeDirectories(dir);
  } catch (err) {
    throw fsError(err, `cannot create ${dest}`);
  }
  throwIfAborted(signal);
  try {
    // "wx": a layout file that is already there is left alone.
    await writeFile(join(dir, "oci-layout"), OCI_LAYOUT_FILE, { flag: "wx", signal });
  } catch (err) {
    if ((err as { code?: unknown }).code !== "EEXIST") {
      throw fsError(err, `cannot write ${join(dest, "oci-layout")}`);
    }
  }
  const index = withTag(await readOciIndex(dir, { signal }), localCacheTag(attrs), desc);
  await replaceWhole(join(dir, "index.json"), `${JSON.stringify(index)}\n`, signal);
  return desc;
}

/** Replaces `path` whole, naming it when that fails. */
async function replaceWhole(path: string, text: string, signal?: AbortSignal): Promise<void> {
  try {
    await replaceFile(path, text, { signal });
  } catch (err) {
    throw fsError(err, `cannot write ${path}`);
  }
}
