import { dirname, resolve } from "node:path";
import { HlnError } from "../errors.js";
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
  if (!value.includes("=")) return { type: "registry", attrs: { ref: value } };
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

/**
 * The cache a run uses: the flags where given, else the stack's own `cache`. Local
 * directories resolve against the working directory for flags and against the stack
 * file's directory for the stack's entries.
 */
export function resolveCache(
  file: string,
  stack: Stack,
  flags: { from: string[]; to: string[] },
): { imports: CacheEntry[]; exports: CacheEntry[] } {
  const pick = (direction: "import" | "export", given: string[], field: "from" | "to") => {
    const own = stack.cache?.[field];
    if (given.length > 0 || own === undefined)
      return given.map((v) =>
        local(parseCacheSpec(direction, `--cache-${field}`, v), process.cwd()),
      );
    if (!Array.isArray(own) || own.some((v) => typeof v !== "string"))
      throw new HlnError("E_STACK_INVALID", `${file}: cache.${field} must be a list of strings`);
    return own.map((v, i) =>
      local(parseCacheSpec(direction, `${file}: cache.${field}[${i}]`, v), dirname(file)),
    );
  };
  return { imports: pick("import", flags.from, "from"), exports: pick("export", flags.to, "to") };
}

/** BuildKit's store key is the dir attr verbatim, so make it absolute once, here. */
function local(entry: CacheEntry, base: string): CacheEntry {
  if (entry.type !== "local") return entry;
  const attrs = { ...entry.attrs };
  for (const k of ["src", "dest"]) if (attrs[k]) attrs[k] = resolve(base, attrs[k]);
  return { ...entry, attrs };
}
