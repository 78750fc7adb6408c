import { posix } from "node:path";

/** Resolves `path` against `base` as a container would (POSIX, absolute, normalised). */
export function resolvePath(base: string, path: string): string {
  return posix.resolve("/", base, path);
}

/** A path inside a result as BuildKit selectors want it: relative, no leading slash. */
export function selector(path: string): string {
  return posix.normalize(path).replace(/^\/+/, "") || ".";
}
