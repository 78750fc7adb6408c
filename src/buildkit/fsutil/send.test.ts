import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstat, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HlnError } from "../../errors.js";
import { type Packet, PacketType, type Stat } from "../../gen/buildkit/fsutil_pb.js";
import { isDirMode, isRegularMode } from "./file-mode.js";
import { createMemoryPacketStreams, type MemoryPacketStream } from "./memory-stream.js";
import { errPacket, finPacket, packetText, reqPacket } from "./packet-io.js";
import { receiveDirectory } from "./receive.js";
import { DATA_CHUNK_SIZE, type SendDirectoryOptions, sendDirectory } from "./send.js";
import { BIG_FILE_SIZE, makeTree, pseudoRandomBytes, tempDir } from "./testdata/fixtures.js";
import { walkDirectory } from "./walk.js";

async function walkAll(root: string): Promise<Stat[]> {
  const out: Stat[] = [];
  for await (const s of walkDirectory(root)) out.push(s);
  return out;
}

/** Runs a sender and a receiver against each other, as the daemon and hln would. */
async function roundTrip(src: string, dest: string, options: SendDirectoryOptions = {}) {
  const [sender, receiver] = createMemoryPacketStreams();
  const [sent, received] = await Promise.all([
    sendDirectory(sender, src, options).finally(() => sender.close()),
    receiveDirectory(receiver, dest).finally(() => receiver.close()),
  ]);
  return { sent, received, sender, receiver };
}

/** Reads the sender's stats up to the end marker; returns them in id order. */
async function readStats(it: AsyncIterator<Packet>): Promise<Stat[]> {
  const stats: Stat[] = [];
  for (;;) {
    const r = await it.next();
    assert.equal(r.done, false, "stream ended before the end of stats");
    const p = r.value as Packet;
    if (p.type === PacketType.PACKET_ERR) throw new Error(`ERR ${packetText(p)}`);
    assert.equal(p.type, PacketType.PACKET_STAT);
    if (p.stat === undefined) return stats;
    stats.push(p.stat);
  }
}

describe("sendDirectory -> receiveDirectory", () => {
  let base = "";
  let src = "";
  let cleanup: () => Promise<void> = async () => undefined;

  before(async () => {
    const t = await tempDir();
    base = t.dir;
    cleanup = t.cleanup;
    src = join(base, "src");
    await mkdir(src);
    await makeTree(src);
  });
  after(() => cleanup());

  test("a tree round-trips: order, modes, mtimes, symlinks, hardlink, contents", async () => {
    const dest = join(base, "out-roundtrip");
    const { sent, received } = await roundTrip(src, dest);

    const before = await walkAll(src);
    const afterStats = await walkAll(dest);
    assert.deepEqual(
      afterStats.map((s) => [s.path, s.mode, s.linkname]),
      before.map((s) => [s.path, s.mode, s.linkname]),
    );
    for (const [i, s] of before.entries()) {
      const d = afterStats[i]!;
      if (!isDirMode(s.mode)) assert.equal(d.size, s.size, s.path);
      // utimes takes seconds as a double (about 240 ns apart at today's epoch) and libuv
      // truncates it into a timespec, so a written mtime can be off by just over 1 µs.
      const drift = d.modTime > s.modTime ? d.modTime - s.modTime : s.modTime - d.modTime;
      assert.ok(drift < 2000n, `${s.path} mtime off by ${drift} ns`);
      if (isRegularMode(s.mode) && s.linkname === "") {
        assert.deepEqual(await readFile(join(dest, s.path)), await readFile(join(src, s.path)));
      }
    }
    assert.deepEqual(await readFile(join(dest, "big.bin")), pseudoRandomBytes(BIG_FILE_SIZE));
    assert.equal((await readFile(join(dest, "empty"))).length, 0);
    const h1 = await lstat(join(dest, "h1"));
    const h2 = await lstat(join(dest, "h2"));
    assert.equal(h1.ino, h2.ino);
    assert.equal((await lstat(join(dest, "dirlink"))).isSymbolicLink(), true);

    const regular = before.filter((s) => isRegularMode(s.mode));
    const withContent = regular.filter((s) => s.linkname === "");
    const contentBytes = withContent.reduce((n, s) => n + Number(s.size), 0);
    assert.deepEqual(sent, {
      files: regular.length,
      requested: withContent.length,
      bytesSent: contentBytes,
      entries: before.length,
    });
    assert.deepEqual(received, {
      files: withContent.length,
      bytes: contentBytes,
      entries: before.length,
    });
    // No temporary siblings are left behind.
    assert.deepEqual(
      (await readdir(base)).filter((n) => n.includes(".hln-")),
      [],
    );
  });

  test('mode "replace" leaves only the new tree; merge, the default, keeps other entries', async () => {
    const dest = join(base, "out-replace");
    await mkdir(dest);
    await writeFile(join(dest, "stale.txt"), "old");
    const [s1, r1] = createMemoryPacketStreams();
    await Promise.all([
      sendDirectory(s1, src, { includePatterns: ["a.txt"] }).finally(() => s1.close()),
      receiveDirectory(r1, dest, { mode: "replace" }).finally(() => r1.close()),
    ]);
    assert.deepEqual(await readdir(dest), ["a.txt"]);

    const merged = join(base, "out-merge");
    await mkdir(join(merged, "a"), { recursive: true });
    await writeFile(join(merged, "a", "old"), "old");
    await writeFile(join(merged, "a.txt"), "will be replaced");
    const [sender, receiver] = createMemoryPacketStreams();
    await Promise.all([
      sendDirectory(sender, src, { includePatterns: ["a", "a.txt"] }).finally(() => sender.close()),
      receiveDirectory(receiver, merged).finally(() => receiver.close()),
    ]);
    assert.deepEqual((await readdir(join(merged, "a"))).sort(), ["b", "deep", "old"]);
    assert.equal(await readFile(join(merged, "a.txt"), "utf8"), "hello");
  });

  test("only requested files travel (a receiver that already has the rest)", async () => {
    const [sender, receiver] = createMemoryPacketStreams();
    const sending = sendDirectory(sender, src).finally(() => sender.close());
    const it = receiver.packets[Symbol.asyncIterator]();
    const stats = await readStats(it);
    const id = (p: string) => stats.findIndex((s) => s.path === p);
    const wanted = [id("big.bin"), id("a.txt")];
    for (const i of wanted) await receiver.send(reqPacket(i));

    const bytes = new Map<number, number>();
    const chunks = new Map<number, number[]>();
    let open = wanted.length;
    while (open > 0) {
      const p = (await it.next()).value as Packet;
      assert.equal(p.type, PacketType.PACKET_DATA);
      assert.ok(wanted.includes(p.id), `unrequested id ${p.id}`);
      if (p.data.length === 0) open--;
      else {
        bytes.set(p.id, (bytes.get(p.id) ?? 0) + p.data.length);
        chunks.set(p.id, [...(chunks.get(p.id) ?? []), p.data.length]);
      }
    }
    await receiver.send(finPacket());
    assert.equal(((await it.next()).value as Packet).type, PacketType.PACKET_FIN);
    receiver.close();

    const result = await sending;
    assert.equal(result.requested, 2);
    assert.equal(result.bytesSent, BIG_FILE_SIZE + 5);
    assert.equal(bytes.get(id("big.bin")), BIG_FILE_SIZE);
    assert.equal(bytes.get(id("a.txt")), 5);
    const bigChunks = chunks.get(id("big.bin"))!;
    assert.equal(bigChunks.length, Math.ceil(BIG_FILE_SIZE / DATA_CHUNK_SIZE));
    assert.ok(bigChunks.every((n) => n <= DATA_CHUNK_SIZE));
  });

  test("on the wire: STAT has no type field, the end of stats is an empty message", async () => {
    const { sender } = await roundTrip(src, join(base, "out-wire"), { includePatterns: ["a.txt"] });
    const endIndex = sender.sent.findIndex((p) => p.type === PacketType.PACKET_STAT && !p.stat);
    assert.equal(sender.sentWire[endIndex]?.length, 0);
    // Field 2 (stat), length-delimited, comes first: type 0 is not written.
    assert.equal(sender.sentWire[0]?.[0], 0x12);
    const fin = sender.sent.at(-1)!;
    assert.equal(fin.type, PacketType.PACKET_FIN);
  });

  test("a walk error reaches the receiver as ERR", async () => {
    const [sender, receiver] = createMemoryPacketStreams();
    const sending = sendDirectory(sender, src, { excludePatterns: ["a[", "b"] });
    await assert.rejects(
      sending,
      (e: unknown) => e instanceof HlnError && /syntax error/.test(e.message),
    );
    const first = sender.sent[0]!;
    assert.equal(first.type, PacketType.PACKET_ERR);
    assert.match(packetText(first), /invalid exclude patterns/);
    sender.close();
    receiver.close();
  });

  test("the receiver's ERR, an unknown REQ id or a stream without FIN fail the sender", async () => {
    const cases: [(r: MemoryPacketStream) => Promise<void>, RegExp][] = [
      [(r) => r.send(errPacket("disk full")), /error from receiver: disk full/],
      [(r) => r.send(reqPacket(99_999)), /unknown file id 99999/],
      [async (r) => r.close(), /closed the file transfer/],
    ];
    for (const [act, expected] of cases) {
      const [sender, receiver] = createMemoryPacketStreams();
      const sending = sendDirectory(sender, src);
      await readStats(receiver.packets[Symbol.asyncIterator]());
      await act(receiver);
      await assert.rejects(
        sending,
        (e: unknown) =>
          e instanceof HlnError && e.code === "E_ENGINE_PROTOCOL" && expected.test(e.message),
      );
      sender.close();
      receiver.close();
    }
  });

  test("a file removed or swapped for a FIFO after its STAT fails the transfer, naming it", async () => {
    const swaps: [string, (path: string) => Promise<void>, RegExp][] = [
      ["gone.txt", (p) => rm(p), /gone\.txt: it was removed while being sent/],
      [
        "fifo.txt",
        async (p) => {
          await rm(p);
          execFileSync("mkfifo", [p]);
        },
        /fifo\.txt: it was replaced by something other than a file/,
      ],
    ];
    for (const [name, swap, expected] of swaps) {
      const dir = join(base, `swap-${name}`);
      await mkdir(dir);
      await writeFile(join(dir, name), "announced");
      const [sender, receiver] = createMemoryPacketStreams();
      const sending = sendDirectory(sender, dir);
      const it = receiver.packets[Symbol.asyncIterator]();
      const stats = await readStats(it);
      await swap(join(dir, name));
      await receiver.send(reqPacket(stats.findIndex((s) => s.path === name)));
      const p = (await it.next()).value as Packet;
      assert.equal(p.type, PacketType.PACKET_ERR);
      assert.match(packetText(p), expected);
      await assert.rejects(
        sending,
        (e: unknown) => e instanceof HlnError && e.code === "E_USAGE" && expected.test(e.message),
      );
      sender.close();
      receiver.close();
    }
  });

  test("a socket travels as the empty file its STAT announced", async () => {
    const dir = join(base, "with-socket");
    await mkdir(dir);
    await writeFile(join(dir, "a.txt"), "a");
    const server = createServer();
    await new Promise<void>((done) => server.listen(join(dir, "s.sock"), done));
    try {
      const dest = join(base, "with-socket-out");
      const { sent } = await roundTrip(dir, dest);
      assert.equal(sent.files, 2);
      const st = await lstat(join(dest, "s.sock"));
      assert.ok(st.isFile());
      assert.equal(st.size, 0);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  test("abort stops the sender with E_ABORTED", async () => {
    const [sender, receiver] = createMemoryPacketStreams();
    const ac = new AbortController();
    const sending = sendDirectory(sender, src, { signal: ac.signal });
    await readStats(receiver.packets[Symbol.asyncIterator]());
    ac.abort();
    await assert.rejects(sending, (e: unknown) => e instanceof HlnError && e.code === "E_ABORTED");
    sender.close();
    receiver.close();
  });

  test("10,000 files walk and round-trip", async () => {
    const shm = await tempDir("hln-fsutil-many-", true);
    after(() => shm.cleanup());
    const big = join(shm.dir, "many");
    const names: string[] = [];
    for (let d = 0; d < 100; d++) {
      await mkdir(join(big, `d${d}`), { recursive: true });
      const writes: Promise<void>[] = [];
      for (let f = 0; f < 100; f++) {
        const rel = `d${d}/f${f}`;
        names.push(rel);
        writes.push(writeFile(join(big, rel), rel));
      }
      await Promise.all(writes);
    }
    const dest = join(shm.dir, "many-out");
    const { sent, received } = await roundTrip(big, dest);
    assert.equal(sent.files, 10_000);
    assert.equal(sent.entries, 10_100);
    assert.equal(received.files, 10_000);
    assert.equal(
      received.bytes,
      names.reduce((n, s) => n + Buffer.byteLength(s), 0),
    );
    assert.equal(await readFile(join(dest, "d57/f42"), "utf8"), "d57/f42");
    assert.equal((await walkAll(dest)).length, 10_100);
  });
});
