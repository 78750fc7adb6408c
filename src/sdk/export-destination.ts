/**
 * Where an export may write on this machine, checked before anything is built: a bad
 * destination is the user's to fix, so it fails at once as a usage error naming the path,
 * not after the build as an engine or file system error.
 */
import { realpathSync } from "node:fs";
import { lstat, mkdtemp, realpath, rename, rmdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { isNotFound } from "../buildkit/fsutil/fs-error.js";
import {
  type Destination,
  destinationError,
  discardStaging,
  installTree,
  type KeptPath,
  makeParents,
  prepareDestination,
  stageBeside,
} from "../buildkit/fsutil/install-tree.js";
import { HlnError } from "../errors.js";

/**
 * The directories no export removes: the stack's, the working directory, home (and, through
 * `keptWithin`, `/` and every directory holding one of them). Real paths, so a symlink to one
 * of them is caught too.
 */
export function keptPaths(options: {
  stackDirectory?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): KeptPath[] {
  const kept: KeptPath[] = [];
  const add = (path: string | undefined, what: string) => {
    if (!path) return;
    let real = resolve(path);
    try {
      real = realpathSync(real);
    } catch {
      // A path that does not exist cannot be removed either; keep it as written.
    }
    kept.push({ path: real, what });
  };
  add(options.stackDirectory, "the stack's directory");
  add(options.cwd ?? process.cwd(), "the working directory");
  add(options.env?.HOME, "the home directory");
  add(homedir(), "the home directory");
  return kept;
}

/**
 * Checks a directory export's destination: not a file, its parent can be made, the place is
 * writable. Resolves with the real path the tree will go to.
 */
export async function checkDirectoryDestination(path: string): Promise<Destination> {
  const target = await prepareDestination(path);
  await assertWritable(dirname(target.path), path);
  return target;
}

/**
 * Checks a file export's destination and resolves with the real path to write: where a
 * symlink at `path` points (the link stays), else `path` in its parent's real location.
 * Missing parents are created, as Dagger's `File.export` does. A directory is refused:
 * putting the file inside it would guess a name, replacing it would delete what it holds.
 */
export async function prepareFileDestination(path: string): Promise<string> {
  // resolve() drops a trailing slash, and the file would take the directory's name.
  if (/[/\\]$/.test(path))
    throw new HlnError(
      "E_USAGE",
      `export to ${path}: a path ending in "/" names a directory; name the file to write, e.g. ${join(path, "image.tar")}`,
    );
  const abs = resolve(path);
  let target: string;
  try {
    target = await realpath(abs);
    if ((await stat(target)).isDirectory()) {
      throw new HlnError(
        "E_USAGE",
        `export to ${path}: it is a directory; name the file to write, e.g. ${join(path, "image.tar")}`,
      );
    }
  } catch (err) {
    if (!isNotFound(err)) throw destinationError(err, path, `cannot use ${abs}`);
    await makeParents(abs, path);
    target = join(await realpath(dirname(abs)), basename(abs));
  }
  await assertWritable(dirname(target), path);
  return target;
}

async function assertWritable(dir: string, shown: string): Promise<void> {
  try {
    // By trying, not by access(): root passes access() where it still cannot write (a
    // read-only mount, sysfs), and the failure would come after the build as an engine error.
    await rmdir(await mkdtemp(join(dir, ".hln-probe-")));
  } catch (err) {
    throw destinationError(err, shown, `cannot write in ${dir}`);
  }
}

/** A directory export of an empty result: nothing to receive, the same rules as any export. */
export async function exportEmptyDirectory(
  target: Destination,
  path: string,
  options: { wipe: boolean; keep: readonly KeptPath[] },
): Promise<void> {
  if (target.existed && !options.wipe) return;
  const staging = await stageBeside(target, path);
  try {
    await installTree(staging, target, { mode: "replace", keep: options.keep });
  } finally {
    await discardStaging(staging);
  }
}

/**
 * Puts the file a single-file export received as `name` in `staging` at `target`, where
 * `source` is its path in the result. Only a regular file goes in place: the export copies
 * with followSymlink, so a correct engine never sends a symlink, and one from a broken or
 * hostile engine could point anywhere on this machine.
 */
export async function placeExportedFile(options: {
  staging: string;
  name: string;
  target: string;
  source: string;
  shown: string;
}): Promise<void> {
  const { staging, name, target, source, shown } = options;
  const from = join(staging, name);
  const st = await lstat(from).catch((err) => {
    if (isNotFound(err)) return undefined;
    throw destinationError(err, shown, "cannot put the file in place");
  });
  if (st?.isDirectory()) {
    throw new HlnError("E_USAGE", `export to ${shown}: ${JSON.stringify(source)} is a directory`);
  }
  if (!st?.isFile()) {
    const what =
      st === undefined ? "nothing" : st.isSymbolicLink() ? "a symlink" : "a special file";
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `export to ${shown}: the engine sent ${what} as ${JSON.stringify(name)}, not a regular file`,
    );
  }
  await rename(from, target).catch((err) => {
    throw destinationError(err, shown, "cannot put the file in place");
  });
}
