/**
 * FileSend: where exporters deliver results to the client. A `local` exporter streams
 * fsutil packets (we are the receiver and write a directory); `tar`, `oci` and `docker`
 * exporters stream raw chunks of one file. One session serves one export, so the target
 * is fixed when the session opens.
 */
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { BytesMessageSchema } from "../gen/buildkit/control_pb.js";
import { FileSend, type RawMessage, RawMessageSchema } from "../gen/buildkit/filesync_pb.js";
import { PacketSchema } from "../gen/buildkit/fsutil_pb.js";
import type { KeptPath } from "./fsutil/install-tree.js";
import { destinationError } from "./fsutil/install-tree.js";
import { receiveDirectory } from "./fsutil/receive.js";
import { servePackets } from "./packet-stream.js";
import type { SessionService } from "./session.js";

export type ExportTarget =
  | {
      kind: "directory";
      path: string;
      /** `merge` (default) or `replace`: see fsutil/install-tree.ts. */
      mode?: "merge" | "replace";
      /** Directories the export must never remove. */
      keep?: readonly KeptPath[];
    }
  | { kind: "file"; path: string };

// RawMessage has no fields: decoding keeps every byte as unknown fields, encoding writes them back.
const raw = (bytes: Uint8Array): RawMessage => fromBinary(RawMessageSchema, bytes);
const bytesOf = (m: RawMessage): Uint8Array => toBinary(RawMessageSchema, m);

export interface FileSendService extends SessionService {
  /**
   * Resolves once every transfer that started has written its result into place (or
   * failed). BuildKit may finish the solve before the last rename here, so a caller that
   * reads the target after the solve waits for this first.
   */
  settled(): Promise<void>;
  /**
   * Why a transfer failed on this side, if one did: the engine reports only that the stream
   * broke, and a failure after the last packet (putting the tree in place) it never sees.
   */
  failure(): HlnError | undefined;
}

export function createFileSendService(target: ExportTarget, signal?: AbortSignal): FileSendService {
  const transfers: Promise<unknown>[] = [];
  let failed: HlnError | undefined;
  const record = (err: unknown): never => {
    failed ??= HlnError.from(err);
    throw err;
  };
  /** Runs a handler's stream to its end, recording when it settles and why it failed. */
  async function* tracked<T>(inner: AsyncIterable<T>): AsyncIterable<T> {
    let settle!: () => void;
    transfers.push(new Promise<void>((r) => (settle = r)));
    try {
      yield* inner;
    } catch (err) {
      record(err);
    } finally {
      settle();
    }
  }
  return {
    methods: ["/moby.filesync.v1.FileSend/DiffCopy"],
    settled: async () => {
      await Promise.all(transfers);
    },
    failure: () => failed,
    register(router) {
      router.service(FileSend, {
        diffCopy(requests) {
          if (target.kind === "directory") {
            return servePackets(
              requests,
              (m) => fromBinary(PacketSchema, bytesOf(m)),
              (p) => raw(toBinary(PacketSchema, p)),
              (stream) => {
                // The work outlives the call: BuildKit may end the stream as soon as it has
                // sent everything, while the tree is still being moved into place. So the
                // call's own signal must not stop it; a broken stream fails it anyway.
                const work = receiveDirectory(stream, target.path, {
                  signal,
                  mode: target.mode,
                  keep: target.keep,
                }).catch(record);
                transfers.push(work.catch(() => {}));
                return work;
              },
            );
          }
          return tracked(receiveFile(requests, target.path));
        },
      });
    },
  };
}

/** A stream that breaks mid-file (the engine went away, a frame did not decode) is the engine's fault. */
async function* brokenIsEngines<T>(stream: AsyncIterable<T>, path: string): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (err) {
    if (err instanceof HlnError) throw err;
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `export to ${path}: the file transfer broke: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** One chunk of a file export; bytes that do not decode as one are the engine's fault. */
function chunkOf(m: RawMessage, path: string): { data: Uint8Array } {
  try {
    return fromBinary(BytesMessageSchema, bytesOf(m));
  } catch (err) {
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `export to ${path}: the engine's stream is not file data: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Writes the chunks into a temporary sibling and renames it into place on success, so a
 * failed export leaves the previous file as it was and no temporary file behind. Nothing is
 * sent back: ending the stream with OK acknowledges the file.
 */
async function* receiveFile(
  requests: AsyncIterable<RawMessage>,
  path: string,
): AsyncIterable<RawMessage> {
  const tmp = join(dirname(path), `.${basename(path)}.hln-${process.pid}-${Date.now()}.tmp`);
  // Opened here, awaited: an unwritable place fails this call, not a stream event later.
  const file = await open(tmp, "wx", 0o644).catch((err) => {
    throw destinationError(err, path, `cannot write in ${dirname(path)}`);
  });
  const onDisk = (err: unknown): never => {
    throw destinationError(err, path, "cannot write the file");
  };
  let done = false;
  try {
    for await (const m of brokenIsEngines(requests, path)) {
      const { data } = chunkOf(m, path);
      let offset = 0;
      while (offset < data.length) {
        offset += (await file.write(data, offset).catch(onDisk)).bytesWritten;
      }
    }
    await file.close().catch(onDisk);
    await rename(tmp, path).catch(onDisk);
    done = true;
  } finally {
    if (!done) {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
  yield* [];
}
