/**
 * Two connected in-memory PacketStreams, for tests and for wiring a sender to a receiver in
 * one process. Each packet is encoded and decoded as on the wire (so STAT's type and id 0 are
 * implicit and the end-of-stats marker is an empty message), and every packet is recorded.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Packet, PacketSchema } from "../../gen/buildkit/fsutil_pb.js";
import type { PacketStream } from "./packet-io.js";

export interface MemoryPacketStream extends PacketStream {
  /** Ends this side's outgoing packets: the peer's `packets` finishes (EOF). */
  close(): void;
  /** What this side sent, as the peer decoded it. */
  readonly sent: Packet[];
  /** The same packets as encoded on the wire. */
  readonly sentWire: Uint8Array[];
}

class Channel {
  private readonly buffer: Packet[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(p: Packet): void {
    if (this.closed) throw new Error("send on a closed packet stream");
    this.buffer.push(p);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *packets(): AsyncGenerator<Packet, void, undefined> {
    for (;;) {
      const p = this.buffer.shift();
      if (p !== undefined) {
        yield p;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

export function createMemoryPacketStreams(): [MemoryPacketStream, MemoryPacketStream] {
  const toB = new Channel();
  const toA = new Channel();
  const side = (out: Channel, inbound: Channel): MemoryPacketStream => {
    const sent: Packet[] = [];
    const sentWire: Uint8Array[] = [];
    return {
      sent,
      sentWire,
      async send(p) {
        const bytes = toBinary(PacketSchema, p);
        const decoded = fromBinary(PacketSchema, bytes);
        sent.push(decoded);
        sentWire.push(bytes);
        out.push(decoded);
      },
      packets: { [Symbol.asyncIterator]: () => inbound.packets() },
      close: () => out.close(),
    };
  };
  return [side(toB, toA), side(toA, toB)];
}
