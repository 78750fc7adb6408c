/**
 * FileSync: BuildKit pulls host directories through it (`local://` sources). We are
 * the fsutil sender; the daemon names the directory (`dir-name`) and the filters that
 * came from the LLB source (include/exclude patterns, followpaths).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { FileSync } from "../gen/buildkit/filesync_pb.js";
import { sendDirectory } from "./fsutil/send.js";
import { servePackets } from "./packet-stream.js";
import type { SessionService } from "./session.js";
import { sessionMetadata } from "./session-metadata.js";

/** Host directories a session may serve, by the local name used in LLB. */
export interface HostDirectories {
  get(name: string): string | undefined;
}

export interface FileSyncStats {
  files: number;
  bytesSent: number;
  requested: number;
}

export function createFileSyncService(
  dirs: HostDirectories,
  onTransfer?: (name: string, stats: FileSyncStats) => void,
): SessionService {
  return {
    methods: ["/moby.filesync.v1.FileSync/DiffCopy"],
    register(router) {
      router.service(FileSync, {
        diffCopy(requests, ctx) {
          const name = sessionMetadata(ctx, "dir-name")[0] ?? "";
          const root = dirs.get(name);
          if (root === undefined) {
            throw new ConnectError(
              `no host directory named ${JSON.stringify(name)} in this session`,
              Code.NotFound,
            );
          }
          return servePackets(
            requests,
            (p) => p,
            (p) => p,
            async (stream) => {
              const stats = await sendDirectory(stream, root, {
                includePatterns: sessionMetadata(ctx, "include-patterns"),
                excludePatterns: sessionMetadata(ctx, "exclude-patterns"),
                followPaths: sessionMetadata(ctx, "followpaths"),
                signal: ctx.signal,
              });
              onTransfer?.(name, stats);
            },
          );
        },
      });
    },
  };
}
