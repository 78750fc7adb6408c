import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type Packet,
  PacketSchema,
  PacketType,
  type Stat,
  StatSchema,
} from "../../gen/buildkit/fsutil_pb.js";
import {
  decodePacket,
  encodePacketFrame,
  encodeStat,
  packetFrameReader,
  packetOf,
} from "./packet-wire.js";

const stats: Stat[] = [
  create(StatSchema, {}),
  create(StatSchema, { path: "a", mode: 0o644, modTime: 1_700_000_000_123_456_789n, size: 12n }),
  create(StatSchema, { path: "dir", mode: (0x80000000 | 0o755) >>> 0, modTime: 1n }),
  create(StatSchema, {
    path: "héllo/wörld ✓ 😀",
    mode: 0xffffffff,
    uid: 1000,
    gid: 0xffffffff,
    size: (1n << 63n) - 1n,
    modTime: (1n << 63n) - 1n,
    linkname: "../target",
    devmajor: 0xfffn,
    devminor: 0xfffffn,
  }),
  // The generic encoder's cases: a negative mtime, xattrs, a path longer than the scratch.
  create(StatSchema, { path: "old", modTime: -5n }),
  create(StatSchema, { path: "x", xattrs: { "user.a": new Uint8Array([1, 2]) } }),
  create(StatSchema, { path: "p".repeat(20_000), linkname: "é".repeat(127) }),
  // A path whose UTF-8 length needs a shorter length prefix than its worst case.
  create(StatSchema, { path: "x".repeat(50) }),
  create(StatSchema, { path: "é".repeat(64) }),
];

function frameOf(p: Packet): Uint8Array {
  const body = toBinary(PacketSchema, p);
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

const packets: Packet[] = [
  create(PacketSchema, {}),
  create(PacketSchema, { type: PacketType.PACKET_REQ, id: 7 }),
  create(PacketSchema, { type: PacketType.PACKET_REQ, id: 0xffffffff }),
  create(PacketSchema, { type: PacketType.PACKET_FIN }),
  create(PacketSchema, { type: PacketType.PACKET_ERR, data: new TextEncoder().encode("boom") }),
  create(PacketSchema, { type: PacketType.PACKET_DATA, id: 300, data: new Uint8Array(40_000) }),
  ...stats.map((stat) => create(PacketSchema, { type: PacketType.PACKET_STAT, stat })),
];

describe("packet wire", () => {
  it("encodes a Stat byte for byte as the generic encoder does", () => {
    for (const stat of stats) {
      assert.deepEqual(encodeStat(stat), toBinary(StatSchema, stat), stat.path.slice(0, 20));
    }
  });

  it("frames a Packet as gRPC would, and a plain-object Packet the same", () => {
    for (const p of packets) assert.deepEqual(encodePacketFrame(p), frameOf(p));
    const data = new Uint8Array([1, 2, 3]);
    assert.deepEqual(
      encodePacketFrame(packetOf(PacketType.PACKET_DATA, 9, data)),
      frameOf(create(PacketSchema, { type: PacketType.PACKET_DATA, id: 9, data })),
    );
  });

  it("decodes what it encodes, and what the generic encoder wrote", () => {
    for (const p of packets) {
      const body = toBinary(PacketSchema, p);
      assert.deepEqual(decodePacket(body), fromBinary(PacketSchema, body));
    }
  });

  it("reads frames split anywhere across chunks", () => {
    const wire = Buffer.concat(packets.map(encodePacketFrame));
    for (const step of [1, 3, 5, 7, 1000, wire.length]) {
      const reader = packetFrameReader(1 << 20);
      const got: Packet[] = [];
      for (let at = 0; at < wire.length; at += step) {
        got.push(...reader.push(wire.subarray(at, at + step)));
      }
      assert.equal(reader.pending, 0);
      assert.deepEqual(
        got.map((p) => toBinary(PacketSchema, p)),
        packets.map((p) => toBinary(PacketSchema, p)),
        `step ${step}`,
      );
    }
  });

  it("refuses a compressed frame, an oversized one, and tells of a cut-off one", () => {
    assert.throws(() => packetFrameReader(100).push(new Uint8Array([1, 0, 0, 0, 0])), /flags 1/);
    assert.throws(() => packetFrameReader(100).push(new Uint8Array([0, 0, 0, 1, 0])), /exceeds/);
    const reader = packetFrameReader(100);
    assert.deepEqual(reader.push(new Uint8Array([0, 0, 0, 0, 2, 8])), []);
    assert.equal(reader.pending, 6);
  });
});
