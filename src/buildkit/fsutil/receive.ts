/**
 * The fsutil receiver (fsutil receive.go, validator.go, hardlinks.go) for a `local` export:
 * BuildKit sends the result tree over FileSend.DiffCopy and hln writes it to a host directory.
 *
 * The stream comes from the engine and is not trusted. Whatever it holds, nothing is written
 * outside the destination:
 * - every path must be clean and relative (no "/x", "..", "a/../b"), and its parent must have been
 *   announced as a directory earlier in the stream; entries of a directory come in strictly
 *   increasing byte order. So no path can lead through a symlink the stream created, and no
 *   name can come twice (receive-validator.ts).
 * - symlinks are created as symlinks and never followed: files are opened with
 *   O_CREAT|O_EXCL|O_NOFOLLOW (writer-pool.ts), directories with mkdir (which never follows), metadata is set
 *   on open handles or with lutimes, hardlinks point only at regular files received before.
 * - the tree is built in a fresh staging directory beside the destination and put in place
 *   (install-tree.ts) only once the transfer has succeeded, so a failed or hostile export leaves
 *   the previous contents of the destination as they were.
 */
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { debuglog } from "node:util";
import { HlnError, throwIfAborted } from "../../errors.js";
import { PacketType, type Stat } from "../../gen/buildkit/fsutil_pb.js";
import { GoMode, isDirMode, isRegularMode, isSymlinkMode } from "./file-mode.js";
import { writeError } from "./fs-error.js";
import {
  type DirMeta,
  discardStaging,
  finishStaging,
  installTree,
  type KeptPath,
  prepareDestination,
  type StagedLink,
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
  serialSender,
} from "./packet-io.js";
import { HardlinkValidator, OrderValidator } from "./receive-validator.js";
import { WriterPool } from "./writer-pool.js";

const debug = debuglog("hln:fsutil");

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
  const dirs = new Map<string, DirMeta>();
  const at = (path: string) => join(staging.tree, path);
  const pool = new WriterPool({ at, send, fail: (err) => abort.fail(err), signal });
  let entries = 0;
  let sentFin = false;
  let peerFailed = false;

  try {
    const order = new OrderValidator();
    const links = new HardlinkValidator();
    const hardlinks: StagedLink[] = [];
    let statsDone = false;
    let id = 0;

    const onStat = async (stat: Stat, statId: number) => {
      const path = stat.path;
      const mode = stat.mode;
      order.check(path, isDirMode(mode));
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
          links.check(path, stat.linkname);
          hardlinks.push({ path, target: stat.linkname });
        } else {
          links.addFile(path);
          pool.add({ id: statId, path, mode, mtime: stat.modTime });
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

    while (!statsDone || pool.busy) {
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
            entries++;
            await onStat(p.stat, id++);
            pool.requestMore();
          }
          break;
        case PacketType.PACKET_DATA:
          await pool.data(p.id, p.data);
          break;
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
    await pool.drain();
    if (signal.aborted) throw signal.reason;
    await finishStaging(staging, hardlinks, dirs);

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
    return { files: pool.files, bytes: pool.bytes, entries };
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
    await pool.close();
    await discardStaging(staging);
  }
}
