/**
 * FileSend: where exporters deliver results to the client. A `local` exporter streams
 * fsutil packets (we are the receiver and write a directory); `tar`, `oci` and `docker`
 * exporters stream raw chunks of one file. One session serves one export, so the target
 * is fixed when the session opens.
 */
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BytesMessageSchema } from "../gen/buildkit/control_pb.js";
import { FileSend, type RawMessage, RawMessageSchema } from "../gen/buildkit/filesync_pb.js";
import { PacketSchema } from "../gen/buildkit/fsutil_pb.js";
import { receiveDirectory } from "./fsutil/receive.js";
import { servePackets } from "./packet-stream.js";
import type { SessionService } from "./session.js";

export type ExportTarget = { kind: "directory"; path: string } | { kind: "file"; path: string };

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
}

export function createFileSendService(target: ExportTarget, signal?: AbortSignal): FileSendService {
  const transfers: Promise<unknown>[] = [];
  /** Runs a handler's stream to its end, recording when it settles. */
  async function* tracked<T>(inner: AsyncIterable<T>): AsyncIterable<T> {
    let settle!: () => void;
    transfers.push(new Promise<void>((r) => (settle = r)));
    try {
      yield* inner;
    } finally {
      settle();
    }
  }
  return {
    methods: ["/moby.filesync.v1.FileSend/DiffCopy"],
    settled: async () => {
      await Promise.all(transfers);
    },
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
                const work = receiveDirectory(stream, target.path, { signal });
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

/**
 * Writes the chunks into a temporary sibling and renames it into place on success, so a
 * failed export leaves the previous file as it was. Nothing is sent back: ending the
 * stream with OK acknowledges the file.
 */
async function* receiveFile(
  requests: AsyncIterable<RawMessage>,
  path: string,
): AsyncIterable<RawMessage> {
  const tmp = `${path}.hln-${process.pid}-${Date.now()}.tmp`;
  const file = createWriteStream(tmp);
  try {
    for await (const m of requests) {
      const { data } = fromBinary(BytesMessageSchema, bytesOf(m));
      if (!file.write(data)) await new Promise<void>((r) => file.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) =>
      file.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    await rename(tmp, path);
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  yield* [];
}
