/**
 * The regular files of a `local` export being requested and written: at most a few open at
 * once, each written by a promise chain off the packet loop, so several files are written
 * while packets keep being read. Files are created with O_CREAT|O_EXCL|O_NOFOLLOW (never
 * through a symlink, never over an earlier entry) and get their mode and mtime on the open
 * handle. Any failure aborts the whole transfer through `fail`.
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import type { Packet } from "../../gen/buildkit/fsutil_pb.js";
import { chmodBitsFromGo } from "./file-mode.js";
import { writeError } from "./fs-error.js";
import { seconds } from "./install-tree.js";
import { protocolError, reqPacket } from "./packet-io.js";

/** Files requested and open at once. */
const MAX_OPEN_FILES = 16;
/** Data queued for one file before reading the stream waits for its writes. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** A regular file announced by the sender, not requested yet. */
export interface PendingFile {
  id: number;
  path: string;
  mode: number;
  mtime: bigint;
}

/**
 * A requested file. Its writes run as a promise chain off the packet loop, so several files
 * are written at once while packets keep being read.
 */
interface OpenFile extends PendingFile {
  /** Resolves to the open handle once every write queued so far is done. */
  chain: Promise<fsp.FileHandle | undefined>;
  /** Bytes queued on the chain and not yet written. */
  queued: number;
}

export interface WriterPoolOptions {
  /** Where a received path goes on disk (inside the staging tree). */
  at(path: string): string;
  /** Sends a packet to the sender, in order with the others. */
  send(p: Packet): Promise<void>;
  /** Aborts the transfer with `err`; `signal` aborts then. */
  fail(err: unknown): void;
  signal: AbortSignal;
}

export class WriterPool {
  /** Regular files fully written, with their metadata set. */
  files = 0;
  /** Content bytes received for them. */
  bytes = 0;
  private readonly pending: PendingFile[] = [];
  // Requested files still being written, and files being closed; both hold descriptors.
  private readonly open = new Map<number, OpenFile>();
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly options: WriterPoolOptions) {}

  /** Whether files remain to be requested or written. */
  get busy(): boolean {
    return this.pending.length > 0 || this.open.size > 0;
  }

  /** Queues a file to be requested once a slot is free (see `requestMore`). */
  add(file: PendingFile): void {
    this.pending.push(file);
  }

  /** Opens and requests queued files while fewer than MAX_OPEN_FILES are open. */
  requestMore(): void {
    const { at, send, fail, signal } = this.options;
    while (
      this.open.size + this.closing.size < MAX_OPEN_FILES &&
      this.pending.length > 0 &&
      !signal.aborted
    ) {
      const file = this.pending.shift()!;
      const chain = fsp
        .open(
          at(file.path),
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        )
        .catch((err) => {
          fail(writeError(err, file.path));
          return undefined;
        });
      this.open.set(file.id, { ...file, chain, queued: 0 });
      send(reqPacket(file.id)).catch((err) => fail(err));
    }
  }

  /**
   * Takes a DATA packet: content for file `id`, or its end when `data` is empty. Throws for a
   * file that was not requested; waits when too much is queued for the file.
   */
  async data(id: number, data: Uint8Array): Promise<void> {
    const file = this.open.get(id);
    if (file === undefined) {
      throw protocolError(`the sender sent data for unrequested file id ${id}`);
    }
    if (data.length === 0) {
      this.queueClose(file);
    } else {
      this.queueWrite(file, data);
      this.bytes += data.length;
      // Bound the memory held by writes that lag behind the stream.
      if (file.queued > MAX_QUEUED_BYTES) await file.chain;
    }
  }

  /** Resolves once every file being closed is closed. */
  async drain(): Promise<void> {
    await Promise.all([...this.closing]);
  }

  /** Closes every file still open (after an abort their writes stop) and waits for them. */
  async close(): Promise<void> {
    // Let in-flight writes notice the abort and close their handles before cleaning up.
    for (const file of this.open.values()) this.queueClose(file);
    await Promise.allSettled([...this.closing]);
  }

  private queueWrite(file: OpenFile, data: Uint8Array): void {
    const { fail, signal } = this.options;
    file.queued += data.length;
    file.chain = file.chain.then(async (handle) => {
      if (handle === undefined || signal.aborted) return handle;
      try {
        let offset = 0;
        while (offset < data.length) {
          const { bytesWritten } = await handle.write(data, offset);
          offset += bytesWritten;
        }
      } catch (err) {
        fail(writeError(err, file.path));
      }
      file.queued -= data.length;
      return handle;
    });
  }

  private queueClose(file: OpenFile): void {
    const { fail, signal } = this.options;
    this.open.delete(file.id);
    const done = file.chain
      .then(async (handle) => {
        if (handle === undefined) return;
        try {
          if (!signal.aborted) {
            await handle.chmod(chmodBitsFromGo(file.mode));
            await handle.utimes(seconds(file.mtime), seconds(file.mtime));
            this.files++;
          }
        } catch (err) {
          fail(writeError(err, file.path));
        } finally {
          await handle.close().catch(() => undefined);
        }
      })
      .finally(() => {
        this.closing.delete(done);
        this.requestMore();
      });
    this.closing.add(done);
  }
}
