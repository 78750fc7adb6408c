/**
 * FileSync: BuildKit pulls host directories through it (`local://` sources). We are
 * the fsutil sender; the daemon names the directory (`dir-name`) and the filters that
 * came from the LLB source (include/exclude patterns, followpaths).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HlnError } from "../errors.js";
import { FileSync } from "../gen/buildkit/filesync_pb.js";
import { sendDirectory } from "./fsutil/send.js";
import { type PacketStream, servePackets, serveRawPackets } from "./packet-stream.js";
import type { SessionService } from "./session.js";
import { groupRawHeaders, metadataValues, sessionMetadata } from "./session-metadata.js";

/** Host directories a session may serve, by the local name used in LLB. */
export interface HostDirectories {
  get(name: string): string | undefined;
}

export interface FileSyncStats {
  files: number;
  bytesSent: number;
  requested: number;
}

const diffCopyPath = "/moby.filesync.v1.FileSync/DiffCopy";
/** The largest message BuildKit sends us (its requests are small: REQ, FIN, ERR). */
const maxRequestBytes = 16 << 20;

function unknownDirectory(name: string): string {
  return `no host directory named ${JSON.stringify(name)} in this session`;
}

export function createFileSyncService(
  dirs: HostDirectories,
  onTransfer?: (name: string, stats: FileSyncStats) => void,
): SessionService {
  const serve = async (
    stream: PacketStream,
    root: string,
    meta: (key: string) => string[],
    signal: AbortSignal,
  ) => {
    const stats = await sendDirectory(stream, root, {
      includePatterns: meta("include-patterns"),
      excludePatterns: meta("exclude-patterns"),
      followPaths: meta("followpaths"),
      signal,
    });
    onTransfer?.(meta("dir-name")[0] ?? "", stats);
  };
  return {
    methods: [diffCopyPath],
    // DiffCopy carries one gRPC message per entry and per 32 KiB of content; served on the
    // raw HTTP/2 stream, each costs a few microseconds instead of connect's tens.
    raw: {
      [diffCopyPath]: (req, res) => {
        const all = groupRawHeaders(req.rawHeaders);
        const meta = (key: string) => metadataValues(all, key);
        const name = meta("dir-name")[0] ?? "";
        const root = dirs.get(name);
        serveRawPackets(
          req,
          res,
          async (stream, signal) => {
            if (root === undefined) throw new ConnectError(unknownDirectory(name), Code.NotFound);
            await serve(stream, root, meta, signal);
          },
          (err) => {
            if (err instanceof ConnectError) return { code: err.code, message: err.rawMessage };
            const e = HlnError.from(err);
            return {
              code: e.code === "E_ABORTED" ? Code.Canceled : Code.Unknown,
              message: e.message,
            };
          },
          maxRequestBytes,
        );
      },
    },
    register(router) {
      router.service(FileSync, {
        diffCopy(requests, ctx) {
          const meta = (key: string) => sessionMetadata(ctx, key);
          const name = meta("dir-name")[0] ?? "";
          const root = dirs.get(name);
          if (root === undefined) throw new ConnectError(unknownDirectory(name), Code.NotFound);
          return servePackets(
            requests,
            (p) => p,
            (p) => p,
            (stream) => serve(stream, root, meta, ctx.signal),
          );
        },
      });
    },
  };
}
