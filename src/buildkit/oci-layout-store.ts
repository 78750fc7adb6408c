/**
 * A ContentStore over an OCI image layout directory: blobs live at
 * `<dir>/blobs/sha256/<hex>`. BuildKit writes a local cache export into it and reads a
 * local cache import from it, through the session.
 *
 * What BuildKit sends is not trusted. File names come only from digests that are checked
 * to be 64 hex digits (refs are never used as names), blobs are opened without following
 * a final symlink, and `blobs/sha256` must resolve inside the directory. A blob is
 * written to a temporary file in the directory and renamed into place only once its
 * size and digest check out, so readers never see part of a blob, and a failed or
 * abandoned write leaves nothing behind.
 */
import { createHash, type Hash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, open, realpath, rename, rm } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { throwIfAborted } from "../errors.js";
import { makeDirectories } from "../make-directories.js";
import type { BlobInfo, ContentStore, Ingest, IngestStatus } from "./content-store-service.js";
import { fsError, isNotFound } from "./fsutil/fs-error.js";

/** The largest chunk `read` yields; containerd's server uses the same. */
export const READ_CHUNK_BYTES = 1 << 20;

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export interface OciLayoutStoreOptions {
  /** Clock for ingest times. Default `() => new Date()`. */
  now?: () => Date;
}

/**
 * A store over the layout at `dir` (created on the first write when missing).
 *
 * @example
 * const store = createOciLayoutStore("./cache");
 * const info = await store.info("sha256:…"); // undefined when the blob is not there
 */
export function createOciLayoutStore(
  dir: string,
  options: OciLayoutStoreOptions = {},
): ContentStore {
  const root = resolve(dir);
  const now = options.now ?? (() => new Date());
  const blobDir = join(root, "blobs", "sha256");
  const ingests = new Map<string, Ingest>();
  /** Refs being written, claimed before the first await so two streams cannot both start. */
  const claimed = new Set<string>();

  const hexOf = (digest: string): string => {
    const hex = DIGEST.exec(digest)?.[1];
    if (hex === undefined) {
      throw new ConnectError(
        `${JSON.stringify(digest)} is not a sha256 digest`,
        Code.InvalidArgument,
      );
    }
    return hex;
  };

  /** Fails unless `blobs/sha256` (when it exists) resolves inside the directory. */
  const checkContained = async (): Promise<boolean> => {
    let real: string;
    let realRoot: string;
    try {
      [realRoot, real] = await Promise.all([realpath(root), realpath(blobDir)]);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw fsError(err, `cannot resolve ${blobDir}`);
    }
    if (!real.startsWith(realRoot + sep)) {
      throw new ConnectError(`${blobDir} leads outside ${root}`, Code.PermissionDenied);
    }
    return true;
  };

  const info = async (
    digest: string,
    o: { signal?: AbortSignal } = {},
  ): Promise<BlobInfo | undefined> => {
    const path = join(blobDir, hexOf(digest));
    throwIfAborted(o.signal);
    if (!(await checkContained())) return undefined;
    try {
      const st = await lstat(path);
      if (!st.isFile()) return undefined;
      return { digest, size: st.size, createdAt: st.birthtime, updatedAt: st.mtime };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw fsError(err, `cannot read ${path}`);
    }
  };

  const store: ContentStore = {
    info,

    async *read(digest, range, o = {}) {
      const path = join(blobDir, hexOf(digest));
      throwIfAborted(o.signal);
      if (!(await checkContained())) throw missing(digest);
      let fh: FileHandle;
      try {
        fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (err) {
        if (isNotFound(err) || (err as { code?: unknown }).code === "ELOOP") throw missing(digest);
        throw fsError(err, `cannot open ${path}`);
      }
      try {
        if (!(await fh.stat()).isFile()) throw missing(digest);
        let position = range.offset;
        const end = range.offset + range.length;
        while (position < end) {
          throwIfAborted(o.signal);
          const want = Math.min(READ_CHUNK_BYTES, end - position);
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await fh.read(buf, 0, want, position);
          if (bytesRead === 0) {
            throw new ConnectError(`${path} ended at ${position} bytes`, Code.DataLoss);
          }
          position += bytesRead;
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    },

    async ingest(ref, o = {}) {
      throwIfAborted(o.signal);
      // UNAVAILABLE is containerd's "ref locked": the proxy writer retries (content.OpenWriter).
      if (claimed.has(ref)) {
        throw new ConnectError(`ref ${JSON.stringify(ref)} is being written`, Code.Unavailable);
      }
      claimed.add(ref);
      try {
        await makeDirectories(root);
        const tmp = join(root, `.hln-ingest-${randomBytes(8).toString("hex")}.tmp`);
        const fh = await open(
          tmp,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        const ingest = fileIngest({ ref, tmp, fh, blobDir, checkContained, now, hexOf }, () => {
          ingests.delete(ref);
          claimed.delete(ref);
        });
        ingests.set(ref, ingest);
        return ingest;
      } catch (err) {
        claimed.delete(ref);
        throw fsError(err, `cannot start writing in ${root}`);
      }
    },

    status(ref) {
      return ingests.get(ref)?.status();
    },

    async abort(ref) {
      const ingest = ingests.get(ref);
      if (ingest === undefined) return false;
      await ingest.discard();
      return true;
    },
  };
  return store;
}

function missing(digest: string): ConnectError {
  return new ConnectError(`content ${digest}: not found`, Code.NotFound);
}

interface IngestFile {
  ref: string;
  tmp: string;
  fh: FileHandle;
  blobDir: string;
  checkContained: () => Promise<boolean>;
  now: () => Date;
  hexOf: (digest: string) => string;
}

function fileIngest(f: IngestFile, release: () => void): Ingest {
  const startedAt = f.now();
  let updatedAt = startedAt;
  let offset = 0;
  let hash: Hash = createHash("sha256");
  let gone: Promise<void> | undefined;

  const discard = (): Promise<void> => {
    gone ??= (async () => {
      release();
      await f.fh.close().catch(() => {});
      await rm(f.tmp, { force: true });
    })();
    return gone;
  };
  const digest = () => `sha256:${hash.copy().digest("hex")}`;

  /** Runs one step of the write; any failure ends the ingest and removes its file. */
  const step = async <T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> => {
    try {
      if (gone) {
        throw new ConnectError(`write of ref ${JSON.stringify(f.ref)} was aborted`, Code.Aborted);
      }
      throwIfAborted(signal);
      return await fn();
    } catch (err) {
      await discard();
      if (err instanceof ConnectError) throw err;
      throw fsError(err, `cannot write blob in ${f.blobDir}`);
    }
  };

  const ingest: Ingest = {
    ref: f.ref,
    total: 0,
    expected: "",
    status: (): IngestStatus => ({
      ref: f.ref,
      offset,
      total: ingest.total,
      expected: ingest.expected,
      startedAt,
      updatedAt,
    }),
    digest,

    write: (data, o = {}) =>
      step(o.signal, async () => {
        let done = 0;
        while (done < data.byteLength) {
          const { bytesWritten } = await f.fh.write(
            data,
            done,
            data.byteLength - done,
            offset + done,
          );
          done += bytesWritten;
        }
        hash.update(data);
        offset += data.byteLength;
        updatedAt = f.now();
      }),

    truncate: (o = {}) =>
      step(o.signal, async () => {
        await f.fh.truncate(0);
        hash = createHash("sha256");
        offset = 0;
        updatedAt = f.now();
      }),

    commit: (expect, o = {}) =>
      step(o.signal, async () => {
        const actual = digest();
        if (expect.size > 0 && offset !== expect.size) {
          throw new ConnectError(
            `unexpected commit size ${offset}, expected ${expect.size}`,
            Code.FailedPrecondition,
          );
        }
        if (expect.digest !== "" && actual !== expect.digest) {
          throw new ConnectError(
            `unexpected commit digest ${actual}, expected ${expect.digest}`,
            Code.FailedPrecondition,
          );
        }
        await f.fh.datasync();
        // Blobs are immutable: their name is their content.
        await f.fh.chmod(0o444);
        await f.fh.close();
        await makeDirectories(f.blobDir);
        await f.checkContained();
        throwIfAborted(o.signal);
        // A blob that is there already has these very bytes; replacing it is harmless.
        await rename(f.tmp, join(f.blobDir, f.hexOf(actual)));
        gone = Promise.resolve();
        release();
        return { digest: actual, size: offset, createdAt: updatedAt, updatedAt };
      }),

    discard,
  };
  return ingest;
}
