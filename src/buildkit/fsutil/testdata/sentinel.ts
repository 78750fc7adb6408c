/**
 * A sentinel tree around an export's destination, for the hostile-stream tests: files and
 * directories beside it, above it and in a directory outside it that symlinks can point to,
 * all with an old mtime. `snapshotTree` records every entry byte for byte (content, mode,
 * mtime, inode, link count, link target), so a write, a new name, a hardlink or a touch
 * anywhere outside the destination shows up as a difference.
 */
import { createHash } from "node:crypto";
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join, relative } from "node:path";

export interface Sentinel {
  /** The destination's parent: the staging directory comes and goes here, so its mtime may change. */
  parent: string;
  /** The destination, holding `previous.txt`. */
  dest: string;
  /** A directory outside the destination, the target of the hostile symlinks. */
  outside: string;
}

/** 2001-09-09: far from now, so any touch changes it. */
const OLD = new Date(1_000_000_000_000);

/**
 * Builds under `base`:
 *   top.txt, outside/{a.txt, sub/b.txt, link-to-a -> a.txt},
 *   parent/{sibling.txt, dest/previous.txt}
 */
export async function makeSentinel(base: string): Promise<Sentinel> {
  const outside = join(base, "outside");
  const parent = join(base, "parent");
  const dest = join(parent, "dest");
  await mkdir(join(outside, "sub"), { recursive: true });
  await mkdir(dest, { recursive: true });
  await writeFile(join(base, "top.txt"), "top sentinel\n");
  await writeFile(join(outside, "a.txt"), "outside sentinel a\n");
  await writeFile(join(outside, "sub", "b.txt"), "outside sentinel b\n");
  await symlink("a.txt", join(outside, "link-to-a"));
  await writeFile(join(parent, "sibling.txt"), "sibling sentinel\n");
  await writeFile(join(dest, "previous.txt"), "previous export\n");
  for (const p of [
    join(base, "top.txt"),
    join(outside, "a.txt"),
    join(outside, "sub", "b.txt"),
    join(outside, "sub"),
    join(parent, "sibling.txt"),
    join(dest, "previous.txt"),
    dest,
    outside,
  ]) {
    await utimes(p, OLD, OLD);
  }
  return { parent, dest, outside };
}

/**
 * Every entry under `root` as one line each, sorted. `skip` leaves a subtree out; `noMtime`
 * records a directory without its mtime (the destination's parent, where staging happens).
 */
export async function snapshotTree(
  root: string,
  options: { skip?: string; noMtime?: string } = {},
): Promise<string[]> {
  const out: string[] = [];
  const visit = async (path: string): Promise<void> => {
    if (path === options.skip) return;
    const st = await lstat(path, { bigint: true });
    const rel = relative(root, path) || ".";
    const mtime = path === options.noMtime ? "-" : String(st.mtimeNs);
    let what: string;
    if (st.isSymbolicLink()) what = `link ${await readlink(path)}`;
    else if (st.isFile()) {
      what = `file ${createHash("sha256")
        .update(await readFile(path))
        .digest("hex")}`;
    } else if (st.isDirectory()) what = "dir";
    else what = "other";
    out.push(
      `${rel} ${what} mode=${st.mode.toString(8)} size=${st.size} mtime=${mtime} ino=${st.ino} nlink=${st.nlink}`,
    );
    if (st.isDirectory()) {
      for (const name of (await readdir(path)).sort()) await visit(join(path, name));
    }
  };
  await visit(root);
  return out.sort();
}
