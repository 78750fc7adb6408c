/**
 * fsutil packets as gRPC messages on the wire, written and read without the generic
 * protobuf and connect layers. A sync sends one message per entry and per 32 KiB of
 * content (60,000 and more for a large context); the generic path costs tens of
 * microseconds a message (reflection, two copies of each DATA payload, a promise per layer),
 * more than the system calls that read the file.
 *
 * Framing is gRPC's (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"): a compressed flag byte,
 * the length as a 32-bit big-endian integer, then the message. The message is the proto3
 * encoding of fsutil.types.Packet (fsutil types/wire.proto): type = 1 (varint), stat = 2
 * (message), ID = 3 (varint), data = 4 (bytes), each left out at its default as proto3 does.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Packet, PacketSchema, type Stat, StatSchema } from "../../gen/buildkit/fsutil_pb.js";

/** gRPC's length prefix: one flag byte and a 32-bit length. */
export const FRAME_HEADER_SIZE = 5;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** A Packet's encoded size (without the frame header) and the encoded Stat it carries. */
export interface PacketMeasure {
  size: number;
  stat: Uint8Array | undefined;
}

/** Encodes a STAT's Stat once, so the size and the write that follows share it. */
export function measurePacket(p: Packet): PacketMeasure {
  let size = 0;
  if (p.type !== 0) size += 1 + varintSize(p.type);
  const stat = p.stat === undefined ? undefined : encodeStat(p.stat);
  if (stat !== undefined) size += 1 + varintSize(stat.length) + stat.length;
  if (p.id !== 0) size += 1 + varintSize(p.id);
  if (p.data.length > 0) size += 1 + varintSize(p.data.length) + p.data.length;
  return { size, stat };
}

/** Bytes `p` takes as a gRPC frame. */
export function packetFrameSize(p: Packet): number {
  return FRAME_HEADER_SIZE + measurePacket(p).size;
}

/**
 * Writes `p` as one uncompressed gRPC frame into `buf` at `at` (which must have room:
 * see `packetFrameSize`); returns the offset after it. `m` is `measurePacket(p)`.
 */
export function writePacketFrame(
  buf: Uint8Array,
  at: number,
  p: Packet,
  m: PacketMeasure = measurePacket(p),
): number {
  const { size, stat } = m;
  buf[at] = 0;
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(at + 1, size);
  at += FRAME_HEADER_SIZE;
  if (p.type !== 0) {
    buf[at++] = 0x08;
    at = writeVarint(buf, at, p.type);
  }
  if (stat !== undefined) {
    buf[at++] = 0x12;
    at = writeVarint(buf, at, stat.length);
    buf.set(stat, at);
    at += stat.length;
  }
  if (p.id !== 0) {
    buf[at++] = 0x18;
    at = writeVarint(buf, at, p.id);
  }
  if (p.data.length > 0) {
    buf[at++] = 0x22;
    at = writeVarint(buf, at, p.data.length);
    buf.set(p.data, at);
    at += p.data.length;
  }
  return at;
}

const utf8 = new TextEncoder();
const scratch = new Uint8Array(32 * 1024);
const maxInt64 = (1n << 63n) - 1n;

function writeBigVarint(at: number, n: bigint): number {
  if (n <= 0xffffffffn) return writeVarint(scratch, at, Number(n));
  while (n >= 0x80n) {
    scratch[at++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  scratch[at++] = Number(n);
  return at;
}

/**
 * A Stat as proto3 bytes, the same as `toBinary(StatSchema, stat)` (a test compares them)
 * at a fraction of the cost. Rare shapes go to the generic encoder: xattrs, a negative
 * int64 (an mtime before 1970), names too long for the scratch buffer.
 */
export function encodeStat(stat: Stat): Uint8Array {
  const negative = stat.size < 0n || stat.modTime < 0n || stat.devmajor < 0n || stat.devminor < 0n;
  const big =
    stat.size > maxInt64 ||
    stat.modTime > maxInt64 ||
    stat.devmajor > maxInt64 ||
    stat.devminor > maxInt64;
  if (
    negative ||
    big ||
    Object.keys(stat.xattrs).length > 0 ||
    (stat.path.length + stat.linkname.length) * 3 > scratch.length - 128
  ) {
    return toBinary(StatSchema, stat);
  }
  let at = 0;
  const text = (tag: number, s: string) => {
    if (s === "") return;
    scratch[at++] = tag;
    // The length goes first, so the text is written at the widest its prefix could need,
    // then moved if the prefix turned out shorter.
    const wide = varintSize(s.length * 3);
    const { written } = utf8.encodeInto(s, scratch.subarray(at + wide));
    const narrow = varintSize(written);
    if (narrow !== wide) scratch.copyWithin(at + narrow, at + wide, at + wide + written);
    at = writeVarint(scratch, at, written) + written;
  };
  const small = (tag: number, n: number) => {
    if (n === 0) return;
    scratch[at++] = tag;
    at = writeVarint(scratch, at, n);
  };
  const large = (tag: number, n: bigint) => {
    if (n === 0n) return;
    scratch[at++] = tag;
    at = writeBigVarint(at, n);
  };
  text(0x0a, stat.path);
  small(0x10, stat.mode);
  small(0x18, stat.uid);
  small(0x20, stat.gid);
  large(0x28, stat.size);
  large(0x30, stat.modTime);
  text(0x3a, stat.linkname);
  large(0x40, stat.devmajor);
  large(0x48, stat.devminor);
  return scratch.slice(0, at);
}

/** `p` as one gRPC frame. */
export function encodePacketFrame(p: Packet): Uint8Array {
  const buf = new Uint8Array(packetFrameSize(p));
  writePacketFrame(buf, 0, p);
  return buf;
}

/**
 * Splits a byte stream of gRPC frames into Packets. Feed it chunks as they arrive; it
 * keeps a partial frame until the rest comes. Throws on a compressed frame (nothing was
 * negotiated, so the peer must not send one) or one over `maxBytes`.
 */
export function packetFrameReader(maxBytes: number): {
  push(chunk: Uint8Array): Packet[];
  /** Bytes of an unfinished frame held back: non-zero at the end means a cut-off stream. */
  readonly pending: number;
} {
  let held = new Uint8Array(0);
  return {
    push(chunk) {
      const data = held.length === 0 ? chunk : concat(held, chunk);
      const out: Packet[] = [];
      let at = 0;
      while (data.length - at >= FRAME_HEADER_SIZE) {
        const flag = data[at]!;
        const size = new DataView(data.buffer, data.byteOffset + at + 1, 4).getUint32(0);
        if (flag !== 0) throw new Error(`unexpected gRPC frame flags ${flag} (compression?)`);
        if (size > maxBytes) throw new Error(`gRPC message of ${size} bytes exceeds ${maxBytes}`);
        if (data.length - at - FRAME_HEADER_SIZE < size) break;
        const start = at + FRAME_HEADER_SIZE;
        out.push(decodePacket(data.subarray(start, start + size)));
        at = start + size;
      }
      held = at === data.length ? new Uint8Array(0) : data.slice(at);
      return out;
    },
    get pending() {
      return held.length;
    },
  };
}

/**
 * Decodes a Packet. What a receiver sends (REQ, FIN, ERR: type, ID, data) is read by hand,
 * a few hundred nanoseconds each against microseconds through reflection; anything else
 * (a STAT, an unknown field, a malformed varint) goes to the generic decoder.
 */
export function decodePacket(bytes: Uint8Array): Packet {
  let type = 0;
  let id = 0;
  let data: Uint8Array = new Uint8Array(0);
  let at = 0;
  const varint = (): number | undefined => {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 5 && at < bytes.length; i++) {
      const b = bytes[at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    return undefined;
  };
  while (at < bytes.length) {
    const tag = bytes[at++]!;
    if (tag !== 0x08 && tag !== 0x18 && tag !== 0x22) return fromBinary(PacketSchema, bytes);
    const v = varint();
    if (v === undefined || v > 0xffffffff) return fromBinary(PacketSchema, bytes);
    if (tag === 0x08) type = v;
    else if (tag === 0x18) id = v;
    else {
      if (at + v > bytes.length) return fromBinary(PacketSchema, bytes);
      data = bytes.slice(at, at + v);
      at += v;
    }
  }
  return packetOf(type, id, data);
}

/**
 * A Packet as a plain object, without the generic `create` (which builds each message
 * field by field through reflection): one per entry and per 32 KiB adds up.
 */
export function packetOf(type: number, id: number, data: Uint8Array, stat?: Stat): Packet {
  const p: Packet = { $typeName: "fsutil.types.Packet", type, id, data };
  if (stat !== undefined) p.stat = stat;
  return p;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
