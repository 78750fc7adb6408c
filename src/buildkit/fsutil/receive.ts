/**
 * The fsutil receiver (fsutil receive.go, validator.go, hardlinks.go) for a `local` export:
 * BuildKit sends the result tree over FileSend.DiffCopy and hln writes it to a host directory.
 *
 * The stream comes from the engine and is not trusted. Whatever it holds, nothing is written
 * outside the destination:
 * - every path must be clean and relative (no "/x", "..", "a/../b"), and its parent must have been
 *   announced as a directory earlier in the stream; entries of a directory come in strictly
 *   increasing byte order. So no path can lead through a symlink the stream created, and no
 *   name can come twice.
 * - symlinks are created as symlinks and never followed: files are opened with
 *   O_CREAT|O_EXCL|O_NOFOLLOW, directories with mkdir (which never follows), metadata is set
 *   on open handles or with lutimes, hardlinks point only at regular files received before.
 * - the tree is built in a fresh staging directory beside the destination and put in place
 *   (install-tree.ts) only once the transfer has succeeded, so a failed or hostile export leaves
 *   the previous contents of the destination as they were.
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { debuglog } from "node:util";
import { HlnError, throwIfAborted } from "../../errors.js";
import { PacketType, type Stat } from "../../gen/buildkit/fsutil_pb.js";
import { chmodBitsFromGo, GoMode, isDirMode, isRegularMode, isSymlinkMode } from "./file-mode.js";
import { errnoCode, fsError } from "./fs-error.js";
import {
  type DirMeta,
  discardStaging,
  installTree,
  type KeptPath,
  prepareDestination,
  type Staging,
  seconds,
  stageBeside,
} from "./install-tree.js";
import {
  errPacket,
  finPacket,
  linkedAbort,
  type PacketStream,
  packetReader,
  packetText,
  protocolError,
  reqPacket,
  serialSender,
} from "./packet-io.js";
import { cleanPath, compareBytewise, compareWirePaths } from "./wire-path.js";

const debug = debuglog("hln:fsutil");

/** Files requested and open at once. */
const MAX_OPEN_FILES = 16;
/** Data queued for one file before reading the stream waits for its writes. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface ReceiveDirectoryOptions {
  signal?: AbortSignal;
  /**
   * `"merge"` (default): the received entries are moved into `dest`, directories merged and
   * files and symlinks of the same name replaced, and everything else in `dest` stays (what
   * buildx does for a local export, and what a multi-platform export with one stream per
   * platform needs). `"replace"`: afterwards `dest` holds exactly the received tree.
   */
  mode?: "replace" | "merge";
  /** Directories no export may remove, nor any directory holding one (see install-tree.ts). */
  keep?: readonly KeptPath[];
}

export interface ReceiveResult {
  /** Regular files whose contents were received (hardlinks not counted). */
  files: number;
  /** Content bytes written. */
  bytes: number;
  /** STAT entries received. */
  entries: number;
}

interface PendingFile {
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

/**
 * fsutil's order validator: clean relative paths, parents announced as directories first,
 * names strictly increasing within a directory.
 */
export class OrderValidator {
  private readonly parents: { dir: string; last: string }[] = [{ dir: "", last: "" }];

  /** Throws an `E_ENGINE_PROTOCOL` HlnError when `path` may not come next. */
  check(path: string, isDir: boolean): void {
    const shown = JSON.stringify(path);
    if (path === "" || path === "." || path.includes("\0") || cleanPath(path) !== path) {
      throw protocolError(`refusing to write ${shown}: not a clean relative path`);
    }
    if (path.startsWith("/")) throw protocolError(`refusing to write ${shown}: absolute path`);
    if (path === ".." || path.startsWith("../")) {
      throw protocolError(`refusing to write ${shown}: it leaves the destination`);
    }
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "" : path.slice(0, slash);
    const base = path.slice(slash + 1);
    // The records form a chain of ancestors; drop those this path is no longer inside.
    while (this.parents.length > 1 && compareWirePaths(this.parents.at(-1)!.dir, dir) > 0) {
      this.parents.pop();
    }
    const top = this.parents.at(-1)!;
    if (top.dir !== dir || compareBytewise(top.last, base) >= 0) {
      const previous = top.dir === "" ? top.last : `${top.dir}/${top.last}`;
      throw protocolError(
        `changes out of order: ${shown} after ${JSON.stringify(previous)}` +
          (top.dir !== dir
            ? ` (its parent ${JSON.stringify(dir)} was not sent as a directory)`
            : ""),
      );
    }
    top.last = base;
    if (isDir) this.parents.push({ dir: path, last: "" });
  }
}

/**
 * Receives a directory over `stream` as an fsutil receiver and writes it to `dest` (created if
 * missing, with its parents). Every regular file is requested. Resolves once the sender has
 * confirmed the end of the transfer and the tree is in place; on any failure the destination is
 * left as it was, the temporary tree is removed, the sender is told with an ERR packet where
 * possible, and the promise rejects with an HlnError (`E_ENGINE_PROTOCOL` for a stream that
 * breaks the rules, `E_ABORTED` when `signal` aborts).
 *
 * @example
 * const { files, bytes } = await receiveDirectory(stream, "./out");
 */
export async function receiveDirectory(
  stream: PacketStream,
  dest: string,
  options: ReceiveDirectoryOptions = {},
): Promise<ReceiveResult> {
  throwIfAborted(options.signal);
  const target = await prepareDestination(dest);
  const staging: Staging = await stageBeside(target, dest);

  const abort = linkedAbort(options.signal);
  const signal = abort.controller.signal;
  const send = serialSender(stream);
  const reader = packetReader(stream, signal);
  const result: ReceiveResult = { files: 0, bytes: 0, entries: 0 };
  const dirs = new Map<string, DirMeta>();
  const at = (path: string) => join(staging.tree, path);
  // Requested files still being written, and files being closed; both hold descriptors.
  const open = new Map<number, OpenFile>();
  const closing = new Set<Promise<void>>();
  let sentFin = false;
  let peerFailed = false;

  const pending: PendingFile[] = [];
  const requestMore = (): void => {
    while (open.size + closing.size < MAX_OPEN_FILES && pending.length > 0 && !signal.aborted) {
      const file = pending.shift()!;
      const chain = fsp
        .open(
          at(file.path),
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        )
        .catch((err) => {
          abort.fail(writeError(err, file.path));
          return undefined;
        });
      open.set(file.id, { ...file, chain, queued: 0 });
      send(reqPacket(file.id)).catch((err) => abort.fail(err));
    }
  };

  const queueWrite = (file: OpenFile, data: Uint8Array): void => {
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
        abort.fail(writeError(err, file.path));
      }
      file.queued -= data.length;
      return handle;
    });
  };

  const queueClose = (file: OpenFile): void => {
    open.delete(file.id);
    const done = file.chain
      .then(async (handle) => {
        if (handle === undefined) return;
        try {
          if (!signal.aborted) {
            await handle.chmod(chmodBitsFromGo(file.mode));
            await handle.utimes(seconds(file.mtime), seconds(file.mtime));
            result.files++;
          }
        } catch (err) {
          abort.fail(writeError(err, file.path));
        } finally {
          await handle.close().catch(() => undefined);
        }
      })
      .finally(() => {
        closing.delete(done);
        requestMore();
      });
    closing.add(done);
  };

  try {
    const validator = new OrderValidator();
    const received = new Set<string>();
    const hardlinks: { path: string; target: string }[] = [];
    let statsDone = false;
    let id = 0;

    const onStat = async (stat: Stat, statId: number) => {
      const path = stat.path;
      const mode = stat.mode;
      validator.check(path, isDirMode(mode));
      if (isDirMode(mode)) {
        try {
          // Owner-only until the end, so that read-only directories can still be filled.
          await fsp.mkdir(at(path), { mode: 0o700 });
        } catch (err) {
          throw writeError(err, path);
        }
        dirs.set(path, { mode, mtime: stat.modTime });
      } else if (isSymlinkMode(mode)) {
        try {
          await fsp.symlink(stat.linkname, at(path));
          await fsp.lutimes(at(path), seconds(stat.modTime), seconds(stat.modTime));
        } catch (err) {
          throw writeError(err, path);
        }
      } else if (isRegularMode(mode)) {
        if (stat.linkname !== "") {
          if (!received.has(stat.linkname)) {
            throw protocolError(
              `invalid hardlink ${JSON.stringify(path)} to unknown path ${JSON.stringify(stat.linkname)}`,
            );
          }
          hardlinks.push({ path, target: stat.linkname });
        } else {
          received.add(path);
          pending.push({ id: statId, path, mode, mtime: stat.modTime });
        }
      } else {
        // Devices, pipes and sockets need privileges or make no sense in an export.
        debug(
          "skipping special file %s (mode %s)",
          path,
          ((mode & ~GoMode.perm) >>> 0).toString(16),
        );
      }
    };

    while (!statsDone || pending.length > 0 || open.size > 0) {
      const p = await reader.next();
      if (p === undefined) {
        throw protocolError("the sender closed the file transfer before finishing it");
      }
      switch (p.type) {
        case PacketType.PACKET_STAT:
          if (statsDone) throw protocolError("the sender sent entries after the end of the list");
          if (p.stat === undefined) {
            statsDone = true;
          } else {
            result.entries++;
            await onStat(p.stat, id++);
            requestMore();
          }
          break;
        case PacketType.PACKET_DATA: {
          const file = open.get(p.id);
          if (file === undefined) {
            throw protocolError(`the sender sent data for unrequested file id ${p.id}`);
          }
          if (p.data.length === 0) {
            queueClose(file);
          } else {
            queueWrite(file, p.data);
            result.bytes += p.data.length;
            // Bound the memory held by writes that lag behind the stream.
            if (file.queued > MAX_QUEUED_BYTES) await file.chain;
          }
          break;
        }
        case PacketType.PACKET_FIN:
          throw protocolError("the sender ended the file transfer before sending every file");
        case PacketType.PACKET_ERR:
          peerFailed = true;
          throw protocolError(`error from sender: ${packetText(p)}`);
        default:
          // A REQ means nothing from a sender; fsutil ignores it too.
          break;
      }
    }
    await Promise.all([...closing]);
    if (signal.aborted) throw signal.reason;

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

    sentFin = true;
    await send(finPacket());
    // The sender answers FIN with FIN and ends the stream; anything else is drained.
    for (;;) {
      const p = await reader.next();
      if (p === undefined || p.type === PacketType.PACKET_FIN) break;
    }

    await installTree(staging, target, {
      mode: options.mode ?? "merge",
      dirs,
      keep: options.keep,
    });
    return result;
  } catch (err) {
    const reason = signal.aborted ? signal.reason : err;
    const e = HlnError.from(reason);
    if (!sentFin && !peerFailed && e.code !== "E_ABORTED") {
      await send(errPacket(e.message)).catch(() => undefined);
    }
    throw e;
  } finally {
    abort.fail(new HlnError("E_ABORTED", "transfer finished"));
    abort.dispose();
    reader.close();
    // Let in-flight writes notice the abort and close their handles before cleaning up.
    for (const file of open.values()) queueClose(file);
    await Promise.allSettled([...closing]);
    await discardStaging(staging);
  }
}

function writeError(err: unknown, path: string): HlnError {
  // EEXIST, ELOOP: a name that collides with an earlier one (case-insensitive file systems)
  // or a symlink in the way. Either way the stream asked for something we will not do.
  const code = errnoCode(err);
  if (code === "EEXIST" || code === "ELOOP") {
    return protocolError(
      `refusing to write ${JSON.stringify(path)}: it collides with an earlier entry`,
      err,
    );
  }
  return fsError(err, `cannot write ${JSON.stringify(path)} of the export`);
}
