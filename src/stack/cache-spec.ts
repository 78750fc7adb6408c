import { mkdtempSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { HlnError } from "../errors.js";
import { parseImageRef } from "../llb/image-ref.js";
import type { Stack } from "./define-stack.js";

/** One build-cache import or export, as BuildKit takes it. */
export interface CacheEntry {
  type: string;
  attrs: Record<string, string>;
}

/** The cache types hln serves: `local` needs the client's content store, others the engine. */
const TYPES = ["registry", "inline", "local"];

/**
 * Parses a cache entry in buildx's syntax, `type=registry,ref=host/app:cache,mode=max`.
 * A bare value without `=` is a registry ref, as in buildx. `where` names the flag or
 * the stack field in errors.
 *
 * @example
 * parseCacheSpec("export", "--cache-to", "type=local,dest=.cache/build,mode=max")
 * // { type: "local", attrs: { dest: ".cache/build", mode: "max" } }
 */
export function parseCacheSpec(
  direction: "import" | "export",
  where: string,
  value: string,
): CacheEntry {
  if (!value.includes("=")) {
    if (value.trim() === "")
      throw new HlnError(
        "E_USAGE",
        `${where} ${JSON.stringify(value)}: expected a registry ref or type=...,key=value (${TYPES.join(", ")})`,
      );
    return { type: "registry", attrs: { ref: checkedRef(where, value, value) } };
  }
  const attrs: Record<string, string> = {};
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0)
      throw new HlnError("E_USAGE", `${where} ${value}: expected key=value pairs, got "${part}"`);
    attrs[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const type = attrs.type;
  delete attrs.type;
  if (!type)
    throw new HlnError("E_USAGE", `${where} ${value}: type= is missing (${TYPES.join(", ")})`);
  if (!TYPES.includes(type))
    throw new HlnError(
      "E_USAGE",
      `${where} ${value}: unknown cache type "${type}" (${TYPES.join(", ")})`,
    );
  if (type === "registry" && !attrs.ref)
    throw new HlnError("E_USAGE", `${where} ${value}: ref= is required for type=registry`);
  if (type === "registry" && attrs.ref) checkedRef(where, value, attrs.ref);
  if (attrs.mode !== undefined && !["min", "max"].includes(attrs.mode))
    throw new HlnError("E_USAGE", `${where} ${value}: mode=${attrs.mode}: expected min or max`);
  if (type === "inline" && direction === "import")
    throw new HlnError(
      "E_USAGE",
      `${where} ${value}: inline cache is imported from its image: type=registry,ref=IMAGE`,
    );
  const dir = direction === "import" ? "src" : "dest";
  if (type === "local" && !attrs[dir])
    throw new HlnError("E_USAGE", `${where} ${value}: ${dir}= is required for type=local`);
  return { type, attrs };
}

/** The ref as BuildKit will parse it, checked now rather than after the build. */
function checkedRef(where: string, value: string, ref: string): string {
  try {
    parseImageRef(ref);
  } catch (err) {
    throw new HlnError("E_USAGE", `${where} ${value}: ${(err as Error).message}`, { cause: err });
  }
  return ref;
}

/**
 * A local cache export must be able to create its directory; the engine finds out only
 * after the whole build, and stalls. A directory made and removed in the nearest existing
 * parent proves it without leaving anything behind.
 */
export function assertWritableDir(where: string, dir: string): void {
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory())
        throw new HlnError("E_USAGE", `${where}: ${at} is not a directory`);
      break;
    } catch (err) {
      if (err instanceof HlnError) throw err;
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  try {
    rmdirSync(mkdtempSync(join(at, ".hln-probe-")));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new HlnError("E_USAGE", `${where}: cannot create ${dir} (${code} in ${at})`, {
      cause: err,
    });
  }
}

/**
 * How messages name the entries a caller gave, by direction: the CLI gives its flags
 * (`--cache-from`), a library caller reads `cache.from option` by default.
 */
export interface CacheEntryNames {
  from: string;
  to: string;
}

/**
 * The cache a run uses: the entries the caller gave where given (the CLI's flags), else
 * the stack's own `cache`. Local directories resolve against the working directory for
 * given entries and against the stack file's directory for the stack's.
 */
export function resolveCache(
  file: string,
  stack: Stack,
  given: { from: string[]; to: string[]; names?: CacheEntryNames | undefined },
): { imports: CacheEntry[]; exports: CacheEntry[] } {
  const entry = (direction: "import" | "export", where: string, value: string, base: string) => {
    const e = local(parseCacheSpec(direction, where, value), base);
    if (direction === "export" && e.type === "local" && e.attrs.dest)
      assertWritableDir(`${where} ${value}`, e.attrs.dest);
    return e;
  };
  const pick = (direction: "import" | "export", entries: string[], field: "from" | "to") => {
    const own = stack.cache?.[field];
    if (entries.length > 0 || own === undefined)
      return entries.map((v) =>
        entry(direction, given.names?.[field] ?? `cache.${field} option`, v, process.cwd()),
      );
    if (!Array.isArray(own) || own.some((v) => typeof v !== "string"))
      throw new HlnError("E_STACK_INVALID", `${file}: cache.${field} must be a list of strings`);
    return own.map((v, i) => entry(direction, `${file}: cache.${field}[${i}]`, v, dirname(file)));
  };
  return { imports: pick("import", given.from, "from"), exports: pick("export", given.to, "to") };
}

/** BuildKit's store key is the dir attr verbatim, so make it absolute once, here. */
function local(entry: CacheEntry, base: string): CacheEntry {
  if (entry.type !== "local") return entry;
  const attrs = { ...entry.attrs };
  for (const k of ["src", "dest"]) if (attrs[k]) attrs[k] = resolve(base, attrs[k]);
  return { ...entry, attrs };
}
