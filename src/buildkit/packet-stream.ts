/**
 * Adapts a connect bidi-stream handler to the PacketStream the fsutil sender and
 * receiver speak: incoming messages become `packets`, and `send` feeds the response.
 */
import type { Packet } from "../gen/buildkit/fsutil_pb.js";

export interface PacketStream {
  send(p: Packet): Promise<void>;
  packets: AsyncIterable<Packet>;
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
