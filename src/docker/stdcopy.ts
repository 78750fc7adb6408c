/**
 * Docker multiplexes an attached process's stdout and stderr onto one connection when
 * the exec has no TTY: each frame is an 8-byte header (stream id, three zero bytes, a
 * big-endian uint32 length) and that many payload bytes. This takes frames apart as
 * bytes arrive, however the network splits them.
 */

export type StdStream = "stdin" | "stdout" | "stderr";

const names: Record<number, StdStream> = { 0: "stdin", 1: "stdout", 2: "stderr" };

export class StdcopyDemuxer {
  #pending: Buffer = Buffer.alloc(0);
  readonly #emit: (stream: StdStream, payload: Buffer) => void;

  constructor(emit: (stream: StdStream, payload: Buffer) => void) {
    this.#emit = emit;
  }

  /** Feeds bytes; emits every payload that is now complete. Throws on a corrupt header. */
  push(chunk: Buffer): void {
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const stream = names[buf[0]!];
      if (!stream || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0)
        throw new Error(`corrupt multiplexed stream: header ${buf.subarray(0, 8).toString("hex")}`);
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      if (size > 0) this.#emit(stream, buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.#pending = Buffer.from(buf);
  }

  /** Bytes of an incomplete frame still held. */
  get buffered(): number {
    return this.#pending.length;
  }
}
