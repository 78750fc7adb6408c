/**
 * Small helpers both ends of a DiffCopy use on a PacketStream: ordered sends from concurrent
 * tasks, a reader that gives up when the transfer is aborted, and packet constructors.
 */
import { create } from "@bufbuild/protobuf";
import { HlnError, isAbortError } from "../../errors.js";
import { type Packet, PacketSchema, PacketType } from "../../gen/buildkit/fsutil_pb.js";
import type { PacketStream } from "../packet-stream.js";
import { packetOf } from "./packet-wire.js";

export type { PacketStream };

/** A `send` that queues calls, so packets go out one at a time and in call order. */
export function serialSender(stream: PacketStream): (p: Packet) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return (p) => {
    const next = tail.then(() => stream.send(p));
    // A failed send must not wedge the ones after it; each caller still sees its own result.
    tail = next.catch(() => undefined);
    return next;
  };
}

export interface PacketReader {
  /** The next packet, undefined at the end of the stream; rejects once `signal` aborts. */
  next(): Promise<Packet | undefined>;
  /** Stops reading; a pending read is abandoned. */
  close(): void;
}

export function packetReader(stream: PacketStream, signal: AbortSignal): PacketReader {
  const it = stream.packets[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let closed = false;
  return {
    async next() {
      if (closed) return undefined;
      const pending = it.next();
      pending.catch(() => undefined);
      try {
        const r = await Promise.race([pending, aborted]);
        return r.done ? undefined : r.value;
      } catch (err) {
        if (signal.aborted || err instanceof HlnError || isAbortError(err)) throw err;
        // Bytes that do not decode as a packet, or a stream that broke, are the peer's doing,
        // not a bug of hln (E_INTERNAL would make the CLI exit 70).
        throw protocolError(
          `the file transfer broke: ${err instanceof Error ? err.message : String(err)}`,
          err,
        );
      }
    },
    close() {
      if (closed) return;
      closed = true;
      it.return?.()?.catch(() => undefined);
    },
  };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function statEndPacket(): Packet {
  // Every field at its default: a zero-length message on the wire.
  return create(PacketSchema, {});
}

export function reqPacket(id: number): Packet {
  return create(PacketSchema, { type: PacketType.PACKET_REQ, id });
}

export function dataPacket(id: number, data?: Uint8Array): Packet {
  return packetOf(PacketType.PACKET_DATA, id, data ?? empty);
}

const empty = new Uint8Array(0);

export function finPacket(): Packet {
  return create(PacketSchema, { type: PacketType.PACKET_FIN });
}

export function errPacket(message: string): Packet {
  return create(PacketSchema, { type: PacketType.PACKET_ERR, data: textEncoder.encode(message) });
}

export function packetText(p: Packet): string {
  return textDecoder.decode(p.data);
}

/** The peer broke the protocol (or reported its own failure). */
export function protocolError(message: string, cause?: unknown): HlnError {
  return new HlnError("E_ENGINE_PROTOCOL", message, { cause });
}

/** Links an optional outer signal to a controller the transfer aborts itself on failure. */
export function linkedAbort(signal: AbortSignal | undefined): {
  controller: AbortController;
  fail(err: unknown): void;
  dispose(): void;
} {
  const controller = new AbortController();
  const onAbort = () =>
    controller.abort(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
  signal?.addEventListener("abort", onAbort, { once: true });
  // A signal that fired before this point fires no event: without this the transfer would
  // wait for a sender that was told to stop.
  if (signal?.aborted) onAbort();
  return {
    controller,
    fail(err) {
      if (!controller.signal.aborted) controller.abort(HlnError.from(err));
    },
    dispose() {
      signal?.removeEventListener("abort", onAbort);
    },
  };
}
