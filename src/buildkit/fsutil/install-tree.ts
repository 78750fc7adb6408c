/**
 * Puts a tree that arrived in a staging directory into its destination on the host, the last
 * step of a `local` export. Two ways:
 * - merge (the default of exports, as buildx's local output and Dagger's export do): entries of
 *   the tree are moved into the destination; a directory present on both sides is merged, a
 *   file or symlink of the destination is replaced by the tree's entry of the same name, and
 *   everything else in the destination stays. A directory of the destination is never replaced
 *   by a file: that would delete what it holds, so the export is refused instead.
 * - replace (`wipe`): afterwards the destination holds exactly the tree.
 *
 * Either way the staging directory sits beside the destination (same file system, so every
 * move is a rename) and nothing in the destination changes before the whole tree is there.
 * A merge that fails part way puts back what it had moved, so the destination is left as it
 * was. Directories listed as kept (the stack's, the working directory, home) are never
 * removed, nor anything that contains one.
 */
import type { Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { debuglog } from "node:util";
import { HlnError, isAbortError } from "../../errors.js";
import { makeDirectories } from "../../make-directories.js";
import { chmodBitsFromGo } from "./file-mode.js";
import { fsReason, isNotFound, isPermissionDenied, writeError } from "./fs-error.js";

const debug = debuglog("hln:fsutil");

/** A directory's metadata as the export sent it, applied once its contents are in. */
export interface DirMeta {
  /** Go file mode. */
  mode: number;
  /** Nanoseconds since the epoch. */
  mtime: bigint;
}

/** Where an export goes, as found on disk before anything was written. */
export interface Destination {
  /** Absolute path, with the symlinks of the user's own path resolved. */
  path: string;
  existed: boolean;
  /** Permission bits of the existing directory; what a replaced one gets again. */
  mode: number;
}

/** A staging directory beside the destination: the tree is built in `tree`. */
export interface Staging {
  dir: string;
  tree: string;
}

export interface InstallOptions {
  /** `merge` (default) or `replace`; see the file's comment. */
  mode?: "merge" | "replace";
  /** Metadata of the tree's directories by relative path, set after their contents move in. */
  dirs?: ReadonlyMap<string, DirMeta>;
  /** Directories that must survive: neither they nor a directory that holds them is removed. */
  keep?: readonly KeptPath[];
}

/** Unix seconds as a double, keeping as much of the nanoseconds as a double can. */
export function seconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

/** A directory that an export must never remove, and what it is, for the message. */
export interface KeptPath {
  /** Absolute and real. */
  path: string;
  /** E.g. "the working directory". */
  what: string;
}

/**
 * The kept directory that removing `path` would take with it (itself, or one inside it), if
 * any. Pure: every path must already be absolute and real. `/` is always kept.
 */
export function keptWithin(path: string, keep: readonly KeptPath[]): KeptPath | undefined {
  const p = resolve(path);
  for (const k of [{ path: "/", what: "the root directory" }, ...keep]) {
    const rel = relative(p, resolve(k.path));
    if (rel !== ".." && !rel.startsWith(`..${sep}`)) return k;
  }
  return undefined;
}

/** Refuses, as a usage error, to remove `path` when it is or holds a kept directory. */
export function assertRemovable(path: string, keep: readonly KeptPath[], what: string): void {
  const kept = keptWithin(path, keep);
  if (kept === undefined) return;
  const why =
    resolve(kept.path) === resolve(path)
      ? `it is ${kept.what}`
      : `it holds ${kept.what} ${kept.path}`;
  throw new HlnError("E_USAGE", `${what}: refusing to remove ${path}: ${why}`);
}

/**
 * Finds the destination: resolves the symlinks of the user's own path once, here, refuses a
 * path that exists and is not a directory, and creates missing parents (as buildx creates its
 * `dest` and Dagger creates parents).
 */
export async function prepareDestination(dest: string): Promise<Destination> {
  const abs = resolve(dest);
  try {
    const real = await fsp.realpath(abs);
    const st = await fsp.stat(real);
    if (!st.isDirectory()) {
      throw new HlnError("E_USAGE", `export to ${dest}: it exists and is not a directory`);
    }
    return { path: real, existed: true, mode: st.mode & 0o7777 };
  } catch (err) {
    if (err instanceof HlnError) throw err;
    if (!isNotFound(err)) throw destinationError(err, dest, `cannot use ${abs}`);
  }
  await makeParents(abs, dest);
  // The parent may itself be reached through a symlink; the tree goes where it points.
  const parent = await fsp.realpath(dirname(abs));
  return { path: join(parent, basename(abs)), existed: false, mode: 0o755 };
}

/** Creates the missing parents of `abs`, naming the one that is in the way when it fails. */
export async function makeParents(abs: string, shown: string): Promise<void> {
  try {
    await makeDirectories(dirname(abs));
  } catch (err) {
    throw destinationError(err, shown, `cannot create its parent directory ${dirname(abs)}`);
  }
}

/** A usage error about the destination `shown`: what failed and the system's reason. */
export function destinationError(err: unknown, shown: string, what: string): HlnError {
  if (err instanceof HlnError) return err;
  if (isAbortError(err)) return new HlnError("E_ABORTED", "cancelled", { cause: err });
  // Whatever the system said (permissions, a read-only or full disk, a mount point in the
  // way), the user can act on it from the path and the reason.
  return new HlnError("E_USAGE", `export to ${shown}: ${what}: ${fsReason(err)}`, { cause: err });
}

/** Makes the staging directory beside `target`, owner-only until it is installed. */
export async function stageBeside(target: Destination, shown: string): Promise<Staging> {
  let dir: string;
  try {
    dir = await fsp.mkdtemp(join(dirname(target.path), `.${basename(target.path)}.hln-`));
  } catch (err) {
    throw destinationError(err, shown, `cannot write in ${dirname(target.path)}`);
  }
  const tree = join(dir, "tree");
  await fsp.mkdir(tree, { mode: 0o700 });
  return { dir, tree };
}

/** Removes the staging directory and whatever is left in it. */
export async function discardStaging(staging: Staging): Promise<void> {
  await removeTree(staging.dir).catch((err) =>
    debug("cannot remove %s: %s", staging.dir, (err as Error).message),
  );
}

/** A hardlink of a received tree: `path` names the regular file `target`; both relative. */
export interface StagedLink {
  path: string;
  target: string;
}

/**
 * Completes a received tree in its staging directory once every file is written: makes its
 * hardlinks, then gives each directory its mode and mtime (`dirs` in the order received).
 */
export async function finishStaging(
  staging: Staging,
  hardlinks: readonly StagedLink[],
  dirs: ReadonlyMap<string, DirMeta>,
): Promise<void> {
  const at = (path: string) => join(staging.tree, path);
  for (const link of hardlinks) {
    try {
      await fsp.link(at(link.target), at(link.path));
    } catch (err) {
      throw writeError(err, link.path);
    }
  }
  // Deepest first: filling a directory changes its mtime, and its mode may forbid writing.
  for (const [path, meta] of [...dirs].reverse()) {
    try {
      await fsp.chmod(at(path), chmodBitsFromGo(meta.mode));
      await fsp.utimes(at(path), seconds(meta.mtime), seconds(meta.mtime));
    } catch (err) {
      throw writeError(err, path);
    }
  }
}

/**
 * The install running into each destination path. A merge checks, then moves: another merge
 * into the same place between the two could set aside a directory the first just put there,
 * or swap one it is descending into for a symlink. Exports of one process into one place (a
 * multi-platform export sends one stream per platform) therefore take turns.
 */
const installing = new Map<string, Promise<void>>();

/** Moves the staged tree into `target` (see the file's comment). The staging stays for discard. */
export async function installTree(
  staging: Staging,
  target: Destination,
  options: InstallOptions = {},
): Promise<void> {
  const before = installing.get(target.path) ?? Promise.resolve();
  const turn = before.then(() => installNow(staging, target, options));
  const settled = turn.catch(() => undefined);
  installing.set(target.path, settled);
  try {
    await turn;
  } finally {
    if (installing.get(target.path) === settled) installing.delete(target.path);
  }
}

async function installNow(
  staging: Staging,
  found: Destination,
  options: InstallOptions,
): Promise<void> {
  const dirs = options.dirs ?? new Map<string, DirMeta>();
  const keep = options.keep ?? [];
  let mode = options.mode ?? "merge";
  let target = found;
  try {
    if (!target.existed) {
      // Another export into the same new place (one stream per platform) may have put its
      // tree there since: this one merges into it, whatever the mode, as neither replaces
      // anything the user had.
      const now = await lstatOrUndefined(target.path);
      if (now === undefined) {
        await fsp.chmod(staging.tree, 0o755);
        await fsp.rename(staging.tree, target.path);
        return;
      }
      target = { ...target, existed: true, mode: now.mode & 0o7777 };
      mode = "merge";
    }
    if (mode === "merge") {
      // Every refusal comes before the first move, so a refused export changes nothing.
      await checkMerge(staging.tree, target.path, "", dirs);
      const undo: (() => Promise<void>)[] = [];
      const aside = join(staging.dir, "replaced");
      await fsp.mkdir(aside);
      try {
        await mergeInto(staging.tree, target.path, "", dirs, aside, undo);
      } catch (err) {
        for (const step of undo.reverse()) {
          await step().catch((e) => debug("cannot undo a merge step: %s", (e as Error).message));
        }
        throw err;
      }
      return;
    }
    assertRemovable(target.path, keep, `export to ${target.path}`);
    await fsp.chmod(staging.tree, target.mode);
    const old = join(staging.dir, "old");
    // Swap: the old tree moves aside, the new one takes its name; the old one goes with the
    // staging directory.
    await fsp.rename(target.path, old);
    try {
      await fsp.rename(staging.tree, target.path);
    } catch (err) {
      await fsp.rename(old, target.path);
      throw err;
    }
  } catch (err) {
    throw destinationError(err, target.path, "cannot put the export in place");
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Refuses a merge that would replace a directory of the destination with a file or link. */
async function checkMerge(
  src: string,
  dst: string,
  rel: string,
  dirs: ReadonlyMap<string, DirMeta>,
): Promise<void> {
  for (const name of await fsp.readdir(src)) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const existing = await lstatOrUndefined(join(dst, name));
    if (!existing?.isDirectory()) continue;
    if (dirs.has(path)) {
      await checkMerge(join(src, name), join(dst, name), path, dirs);
      continue;
    }
    throw new HlnError(
      "E_USAGE",
      `export: the result has a file at ${JSON.stringify(path)} where ${join(dst, name)} is a directory; remove that directory, or export with { wipe: true }`,
    );
  }
}

/**
 * Moves the entries of `src` into `dst`; directories present on both sides are merged.
 * Each step pushes its undo, so a failure can put the destination back as it was.
 */
async function mergeInto(
  src: string,
  dst: string,
  rel: string,
  dirs: ReadonlyMap<string, DirMeta>,
  aside: string,
  undo: (() => Promise<void>)[],
): Promise<void> {
  // Sorted: the order of moves (and so what a failure has to undo) does not depend on the disk.
  for (const name of (await fsp.readdir(src)).sort()) {
    const from = join(src, name);
    const to = join(dst, name);
    const path = rel === "" ? name : `${rel}/${name}`;
    const meta = dirs.get(path);
    const existing = await lstatOrUndefined(to);
    if (meta !== undefined && existing?.isDirectory()) {
      // lstat said directory, not symlink: safe to descend. Writable while merging.
      const before = { mode: existing.mode & 0o7777, atime: existing.atime, mtime: existing.mtime };
      undo.push(async () => {
        await fsp.chmod(to, before.mode);
        await fsp.utimes(to, before.atime, before.mtime);
      });
      await fsp.chmod(to, 0o700);
      await mergeInto(from, to, path, dirs, aside, undo);
      await fsp.chmod(to, chmodBitsFromGo(meta.mode));
      await fsp.utimes(to, seconds(meta.mtime), seconds(meta.mtime));
      continue;
    }
    if (existing !== undefined) {
      // A file or symlink (checkMerge refused directories): set aside, not deleted, until
      // the whole merge has succeeded.
      const saved = join(aside, String(undo.length));
      await fsp.rename(to, saved);
      undo.push(() => fsp.rename(saved, to));
    }
    await fsp.rename(from, to);
    undo.push(() => fsp.rename(to, from));
  }
}

/** rm -rf that also copes with directories we made read-only. Never follows symlinks. */
export async function removeTree(path: string): Promise<void> {
  try {
    await fsp.rm(path, { recursive: true, force: true });
  } catch (err) {
    if (!isPermissionDenied(err)) throw err;
    await makeWritable(path);
    await fsp.rm(path, { recursive: true, force: true });
  }
}

async function makeWritable(path: string): Promise<void> {
  const st = await fsp.lstat(path).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) return;
  await fsp.chmod(path, 0o700).catch(() => undefined);
  for (const name of await fsp.readdir(path).catch(() => [] as string[])) {
    await makeWritable(join(path, name));
  }
}
