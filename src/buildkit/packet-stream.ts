/**
 * Adapts a connect bidi-stream handler to the PacketStream the fsutil sender and
 * receiver speak: incoming messages become `packets`, and `send` feeds the response.
 */
import type { Packet } from "../gen/buildkit/fsutil_pb.js";
import type { H2Handler } from "../transport/h2c.js";
import {
  FRAME_HEADER_SIZE,
  measurePacket,
  packetFrameReader,
  writePacketFrame,
} from "./fsutil/packet-wire.js";

export interface PacketStream {
  send(p: Packet): Promise<void>;
  packets: AsyncIterable<Packet>;
  /**
   * True when `send` has encoded the packet, and queued it behind the ones sent before,
   * by the time it returns: the caller may then reuse the packet's data buffer and needs
   * no queue of its own to keep packets in order.
   */
  readonly encodesOnSend?: boolean;
}

/** An async queue the handler drains into its response stream. */
export function responseQueue<T>(): {
  push(item: T): void;
  end(err?: unknown): void;
  items: AsyncIterable<T>;
} {
  const buffer: T[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  return {
    push(item) {
      buffer.push(item);
      wake?.();
    },
    end(err) {
      done = true;
      failure = err;
      wake?.();
    },
    items: {
      async *[Symbol.asyncIterator]() {
        while (true) {
          while (buffer.length > 0) yield buffer.shift()!;
          if (done) {
            if (failure !== undefined) throw failure;
            return;
          }
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
      },
    },
  };
}

/**
 * Runs `work` over a PacketStream built from a handler's request stream and yields what
 * it sends, ending when `work` settles.
 */
export async function* servePackets<I, O>(
  requests: AsyncIterable<I>,
  decode: (m: I) => Packet,
  encode: (p: Packet) => O,
  work: (stream: PacketStream) => Promise<unknown>,
): AsyncIterable<O> {
  const out = responseQueue<O>();
  const stream: PacketStream = {
    send: async (p) => out.push(encode(p)),
    packets: (async function* () {
      for await (const m of requests) yield decode(m);
    })(),
  };
  work(stream).then(
    () => out.end(),
    (err) => out.end(err),
  );
  yield* out.items;
}

type RawRequest = Parameters<H2Handler>[0];
type RawResponse = Parameters<H2Handler>[1];

/** Outgoing frames are gathered into chunks of this size before they are written. */
const CHUNK_BYTES = 256 * 1024;
/** What may wait in the HTTP/2 stream's buffer before `send` makes its caller wait. */
const BUFFERED_BYTES = 1024 * 1024;

/** The error a raw handler reports in `grpc-status` and `grpc-message`. */
export interface RawStatus {
  /** A gRPC status code (2 unknown, 5 not found, ...). */
  code: number;
  message: string;
}

/**
 * Serves one gRPC bidi-streaming call of fsutil packets straight on the HTTP/2 request and
 * response, without connect: incoming frames are decoded as they arrive, and what `work`
 * sends is framed into 256 KiB chunks (a partial chunk goes out when the event loop next
 * runs), with `send` waiting only while over 1 MiB is buffered. The call ends with
 * `grpc-status` 0 when `work` resolves, or with `status(err)` when it rejects.
 */
export function serveRawPackets(
  req: RawRequest,
  res: RawResponse,
  work: (stream: PacketStream, signal: AbortSignal) => Promise<unknown>,
  status: (err: unknown) => RawStatus,
  maxMessageBytes: number,
): void {
  const abort = new AbortController();
  let ended = false;
  const onGone = () => {
    if (!ended) abort.abort(new Error("the engine ended the file transfer call"));
  };
  req.once("close", onGone);
  res.once("close", onGone);

  // Chunks come back once HTTP/2 has taken their bytes: allocating a fresh one per write
  // left hundreds of megabytes of garbage for a large context (GC was the top profile entry).
  const spare: Buffer[] = [];
  const take = () => spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  let chunk = take();
  let used = 0;
  let flushQueued = false;
  let waiting: Promise<void> | undefined;
  const ready = Promise.resolve();

  const startResponse = () => {
    if (!res.headersSent) res.writeHead(200, { "content-type": "application/grpc" });
  };
  const writeOut = (bytes: Buffer, whole?: Buffer) => {
    startResponse();
    res.write(bytes, whole && (() => spare.length < 8 && spare.push(whole)));
  };
  const flush = () => {
    flushQueued = false;
    if (used === 0 || res.destroyed) return;
    const whole = chunk;
    const out = chunk.subarray(0, used);
    chunk = take();
    used = 0;
    writeOut(out, whole);
  };
  const backlog = () => (res.destroyed ? 0 : res.stream.writableLength);
  const wait = (): Promise<void> => {
    if (backlog() <= BUFFERED_BYTES) return ready;
    waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        res.stream.off("drain", done);
        res.off("close", done);
        waiting = undefined;
        resolve();
      };
      res.stream.on("drain", done);
      res.once("close", done);
    });
    return waiting;
  };

  const reader = packetFrameReader(maxMessageBytes);
  const stream: PacketStream = {
    encodesOnSend: true,
    send(p) {
      if (ended || res.destroyed)
        return Promise.reject(abort.signal.reason ?? new Error("call ended"));
      const m = measurePacket(p);
      const size = FRAME_HEADER_SIZE + m.size;
      if (used + size > chunk.length) flush();
      if (size > chunk.length) {
        const own = Buffer.allocUnsafe(size);
        writePacketFrame(own, 0, p, m);
        writeOut(own);
      } else {
        used = writePacketFrame(chunk, used, p, m);
        if (used >= chunk.length - FRAME_HEADER_SIZE) flush();
        else if (!flushQueued) {
          flushQueued = true;
          setImmediate(flush);
        }
      }
      return wait();
    },
    packets: (async function* () {
      for await (const data of req as AsyncIterable<Buffer>) yield* reader.push(data);
      if (reader.pending > 0) throw new Error("the engine's request stream ended inside a message");
    })(),
  };

  const finish = (trailers: Record<string, string>) => {
    if (ended) return;
    ended = true;
    req.off("close", onGone);
    res.off("close", onGone);
    if (res.destroyed) return;
    flush();
    startResponse();
    res.addTrailers(trailers);
    res.end();
  };
  work(stream, abort.signal).then(
    () => finish({ "grpc-status": "0" }),
    (err) => {
      const s = status(err);
      finish({ "grpc-status": String(s.code), "grpc-message": encodeURIComponent(s.message) });
    },
  );
}
