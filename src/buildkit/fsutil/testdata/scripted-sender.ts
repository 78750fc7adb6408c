/**
 * Test tool: the engine's side of an fsutil export, written by hand. It announces
 * `entries`, may push DATA nobody asked for, serves every REQ with `content(path)` and
 * answers FIN; it stops at the receiver's ERR. `cut` replaces the end of stats with an
 * ERR or a closed stream. The receivers' tests, hostile or not, drive the real receiver
 * with it.
 */
import { create } from "@bufbuild/protobuf";
import {
  type Packet,
  PacketSchema,
  PacketType,
  StatSchema,
} from "../../../gen/buildkit/fsutil_pb.js";
import { GoMode } from "../file-mode.js";
import type { MemoryPacketStream } from "../memory-stream.js";
import { dataPacket, errPacket, finPacket, statEndPacket } from "../packet-io.js";

export const DIR = (GoMode.dir | 0o755) >>> 0;
export const LINK = (GoMode.symlink | 0o777) >>> 0;
export const FILE = 0o644;

export interface Entry {
  path: string;
  mode: number;
  linkname?: string;
}

export interface SenderOptions {
  cut?: "err" | "eof";
  /** What a requested file holds (default: "content of PATH"). */
  content?: (path: string) => string;
  /** DATA packets sent after the stats, which no REQ asked for. */
  unrequested?: { id: number; data: string }[];
}

/** Sends as the engine would; resolves with every packet the receiver sent back. */
export async function scriptedSender(
  stream: MemoryPacketStream,
  entries: Entry[],
  options: SenderOptions = {},
): Promise<Packet[]> {
  const seen: Packet[] = [];
  const content = options.content ?? ((p: string) => `content of ${p}`);
  const bytes = (s: string) => new TextEncoder().encode(s);
  for (const e of entries) {
    const stat = create(StatSchema, {
      path: e.path,
      mode: e.mode,
      linkname: e.linkname ?? "",
      modTime: 1_700_000_000_000_000_000n,
    });
    await stream.send(create(PacketSchema, { stat }));
  }
  if (options.cut === "err") {
    await stream.send(errPacket("the build failed"));
    stream.close();
    return seen;
  }
  if (options.cut === "eof") {
    stream.close();
    return seen;
  }
  await stream.send(statEndPacket());
  for (const x of options.unrequested ?? []) await stream.send(dataPacket(x.id, bytes(x.data)));
  for await (const p of stream.packets) {
    seen.push(p);
    if (p.type === PacketType.PACKET_REQ) {
      await stream.send(dataPacket(p.id, bytes(content(entries[p.id]?.path ?? ""))));
      await stream.send(dataPacket(p.id));
    } else if (p.type === PacketType.PACKET_FIN) {
      await stream.send(finPacket());
      break;
    } else if (p.type === PacketType.PACKET_ERR) {
      break;
    }
  }
  stream.close();
  return seen;
}
