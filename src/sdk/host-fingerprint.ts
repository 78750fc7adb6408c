/**
 * A fingerprint of a host directory as a sync would send it: the same walk and filters as
 * the FileSync sender (fsutil/walk.ts), and per entry everything a change to it touches.
 * The ledger keys a request by it, so a rerun whose synced files are unchanged can be
 * answered without sending them.
 *
 * Stat fields alone miss a rewrite that keeps the size within one timestamp tick (git's
 * "racy" files): entries whose mtime or ctime is that close to when the fingerprint was
 * taken are named, so the ledger records their content digest and compares it next time.
 */
import { createHash } from "node:crypto";
import { type BigIntStats, lstatSync as nodeLstatSync } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { join } from "node:path";
import { fastNodeWalkFs, type WalkFs, walkDirectory } from "../buildkit/fsutil/walk.js";

/** How close to the fingerprint's time a timestamp must be for the entry to count as racy. */
export const racyWindowNs = 2_000_000_000n;

export interface HostFingerprint {
  /** sha256 over the root and every entry's path, type, mode, size, ids, times, inode, link. */
  digest: string;
  /** Absolute paths of regular files whose mtime or ctime is within the racy window. */
  racy: string[];
}

export interface FingerprintOptions {
  includePatterns?: readonly string[];
  excludePatterns?: readonly string[];
  followPaths?: readonly string[];
  /** Now, in ns since the epoch; entries changed after `now - racyWindowNs` are racy. */
  nowNs?: bigint;
  signal?: AbortSignal;
}

/**
 * Walks `root` as the sync of a local source with these patterns would, and digests it.
 * Throws what the walk throws (a missing root, an unreadable directory): the caller then
 * leaves the request to the engine, which reports it as a sync would.
 */
export async function fingerprintDirectory(
  root: string,
  options: FingerprintOptions = {},
): Promise<HostFingerprint> {
  const nowNs = options.nowNs ?? BigInt(Date.now()) * 1_000_000n;
  // The walk's own lstat results: the same call the sender makes, with ctime and inode,
  // which the wire Stat leaves out.
  const seen = new Map<string, BigIntStats>();
  // The blocking forms, as the sender's walk uses by default: a promise per entry costs
  // several times the lstat itself.
  const lstatSync =
    fastNodeWalkFs.lstatSync ?? ((path: string) => nodeLstatSync(path, { bigint: true }));
  const fs: WalkFs = {
    ...fastNodeWalkFs,
    lstat: async (path) => {
      const st = await fastNodeWalkFs.lstat(path);
      seen.set(path, st);
      return st;
    },
    lstatSync: (path) => {
      const st = lstatSync(path);
      seen.set(path, st);
      return st;
    },
  };
  const base = await realpath(root);
  const hash = createHash("sha256").update(`root ${JSON.stringify(base)}\n`);
  const racy: string[] = [];
  for await (const stat of walkDirectory(root, {
    includePatterns: options.includePatterns,
    excludePatterns: options.excludePatterns,
    followPaths: options.followPaths,
    signal: options.signal,
    fs,
  })) {
    const abs = join(base, stat.path);
    const st = seen.get(abs) ?? (await fastNodeWalkFs.lstat(abs));
    seen.delete(abs);
    const type = st.isFile() ? "f" : st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "o";
    hash.update(
      [
        JSON.stringify(stat.path),
        type,
        st.mode,
        st.size,
        st.uid,
        st.gid,
        st.mtimeNs,
        st.ctimeNs,
        st.ino,
        // The symlink's target, or the first path of a hardlinked inode, as the sender sends it.
        JSON.stringify(stat.linkname),
      ].join(" "),
    );
    hash.update("\n");
    if (type === "f" && (st.mtimeNs > nowNs - racyWindowNs || st.ctimeNs > nowNs - racyWindowNs))
      racy.push(abs);
  }
  return { digest: hash.digest("hex"), racy };
}

/** `sha256:<hex>` of a file's bytes; undefined when it cannot be read (gone, a directory). */
export async function contentDigest(
  path: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, "r");
    const hash = createHash("sha256");
    for await (const chunk of handle.createReadStream({ autoClose: false, signal }))
      hash.update(chunk as Buffer);
    return `sha256:${hash.digest("hex")}`;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}
