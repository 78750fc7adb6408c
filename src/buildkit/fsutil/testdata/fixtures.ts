/**
 * Directory trees for the fsutil tests, built on disk because symlinks, hardlinks and modes
 * do not survive a checkout. `walk-order.golden.txt` beside this file lists the order the
 * walk must produce for `makeTree`; `HLN_UPDATE_GOLDEN=1` rewrites it from the walk.
 */
import { constants } from "node:fs";
import {
  access,
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A temporary directory removed by the returned `cleanup`, even when tests made it read-only.
 * With `inMemory`, it is made on /dev/shm when there is one: the 10,000-file test measures hln,
 * not a slow disk.
 */
export async function tempDir(
  prefix = "hln-fsutil-",
  inMemory = false,
): Promise<{ dir: string; cleanup(): Promise<void> }> {
  let parent = tmpdir();
  if (inMemory) {
    try {
      await access("/dev/shm", constants.W_OK);
      parent = "/dev/shm";
    } catch {
      // No tmpfs here: the slower default will do.
    }
  }
  const dir = await mkdtemp(join(parent, prefix));
  return {
    dir,
    async cleanup() {
      await makeWritable(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function makeWritable(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) return;
  await chmod(dir, 0o755).catch(() => undefined);
  for (const name of await readdir(dir).catch(() => [] as string[]))
    await makeWritable(join(dir, name));
}

/** Deterministic bytes, so a large file can be compared without keeping a copy. */
export function pseudoRandomBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const BIG_FILE_SIZE = 100 * 1024 + 123;

async function file(
  root: string,
  rel: string,
  content: string | Buffer,
  mode = 0o644,
): Promise<void> {
  const p = join(root, rel);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, content);
  await chmod(p, mode);
}

/**
 * A tree with the traps of fsutil ordering and metadata: `a`, `a/b`, `a.txt` and `B` (byte
 * order, not path order), names above U+E000 and above U+FFFF (UTF-16 and UTF-8 disagree), an
 * empty file, a file over 32 KiB, symlinks (relative, to a directory, absolute), a hardlink,
 * and unusual modes including a read-only directory.
 */
export async function makeTree(root: string): Promise<void> {
  await file(root, "B", "upper case sorts first");
  await file(root, "a/b", "inside a");
  await file(root, "a/deep/x.txt", "deep", 0o640);
  await chmod(join(root, "a/deep"), 0o750);
  await file(root, "a.txt", "hello");
  await utimes(join(root, "a.txt"), 1_600_000_000.125, 1_600_000_000.125);
  await file(root, "big.bin", pseudoRandomBytes(BIG_FILE_SIZE));
  await file(root, "c/d/e.txt", "e");
  await file(root, "empty", "");
  await file(root, "h1", "same inode");
  await link(join(root, "h1"), join(root, "h2"));
  await symlink("a.txt", join(root, "link"));
  await symlink("a", join(root, "dirlink"));
  await symlink("/etc", join(root, "abs"));
  await file(root, "ro/file", "read only", 0o444);
  await chmod(join(root, "ro"), 0o555);
  await file(root, "x.sh", "#!/bin/sh\n", 0o755);
  await file(root, "é.txt", "e acute");
  await file(root, "\uE000", "private use");
  await file(root, "😀.txt", "emoji");
}
