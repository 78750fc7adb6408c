/**
 * `mkdir -p`, one level at a time. Node 20's own recursive mkdir never settles where mkdir
 * fails with ENOENT under an existing parent (anything below `/proc/x`): the sync form
 * spins and takes Ctrl-C with it, the promise form just never resolves. Made level by
 * level, such a path fails at once with the error mkdir gave.
 */
import { mkdirSync, rmdirSync, type Stats, statSync } from "node:fs";
import { mkdir, rmdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** What mkdir -p says when a level exists and is not a directory. */
function notADirectory(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {
    code: "ENOTDIR",
    errno: -20,
    syscall: "mkdir",
    path,
  });
}

/** The directories of `path` that do not exist yet, outermost first. */
function missingSync(path: string): string[] {
  const missing: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    let st: Stats | undefined;
    try {
      st = statSync(dir);
    } catch {
      missing.unshift(dir);
      if (dirname(dir) === dir) break;
      continue;
    }
    if (!st.isDirectory()) throw notADirectory(dir);
    break;
  }
  return missing;
}

/**
 * Makes `path` and its missing parents; returns the outermost directory it made, or
 * undefined when `path` existed. On failure it removes what it made and throws.
 */
export function makeDirectoriesSync(path: string, mode?: number): string | undefined {
  const made: string[] = [];
  try {
    for (const dir of missingSync(path)) {
      mkdirSync(dir, { mode });
      made.unshift(dir);
    }
  } catch (err) {
    for (const dir of made) rmdirSync(dir);
    throw err;
  }
  return made.at(-1);
}

/** The promise form of makeDirectoriesSync; a directory made meanwhile by another is fine. */
export async function makeDirectories(path: string, mode?: number): Promise<string | undefined> {
  const missing: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    let st: Stats | undefined;
    try {
      st = await stat(dir);
    } catch {
      missing.unshift(dir);
      if (dirname(dir) === dir) break;
      continue;
    }
    if (!st.isDirectory()) throw notADirectory(dir);
    break;
  }
  const made: string[] = [];
  try {
    for (const dir of missing) {
      try {
        await mkdir(dir, { mode });
        made.unshift(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  } catch (err) {
    for (const dir of made) await rmdir(dir).catch(() => {});
    throw err;
  }
  return made.at(-1);
}
