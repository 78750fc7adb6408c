/**
 * The tar side of a hostile exporter. hln never unpacks a tar it receives: the `tar`, `oci`
 * and `docker` exporters' streams are stored as one opaque file (FileSend), and image tarballs
 * from `docker save` likewise; only the engine unpacks (`POST /images/load`, `PUT .../archive`).
 * These tests send a tar built to escape (`..`, absolute paths, a symlink to outside then a
 * file through it, hardlinks to outside, duplicates) over FileSend in process and check that
 * it lands byte for byte in the one file asked for, and that a sentinel tree around it is
 * unchanged. The same bytes sent to a directory export are refused as a broken stream.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { HlnError } from "../errors.js";
import { BytesMessageSchema } from "../gen/buildkit/control_pb.js";
import { FileSend, type RawMessage, RawMessageSchema } from "../gen/buildkit/filesync_pb.js";
import { createFileSendService, type ExportTarget } from "./file-send-service.js";
import { tempDir } from "./fsutil/testdata/fixtures.js";
import { makeSentinel, snapshotTree } from "./fsutil/testdata/sentinel.js";

/** One ustar header: any name, type and link name, as a hostile writer would put them. */
function header(name: string, type: string, size: number, linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100, 8, "latin1");
  h.write("0000000\0", 108, 8, "latin1");
  h.write("0000000\0", 116, 8, "latin1");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, 12, "latin1");
  h.write("00000000000\0", 136, 12, "latin1");
  h.write(type, 156, 1, "latin1");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\0", 257, 6, "latin1");
  h.write("00", 263, 2, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return h;
}

function entry(name: string, type: string, data = "", linkname = ""): Buffer {
  const body = Buffer.from(data);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header(name, type, body.length, linkname), body, pad]);
}

/** A tar that tries every way out of wherever it is unpacked. */
function hostileTar(outside: string): Buffer {
  return Buffer.concat([
    entry("../sibling.txt", "0", "pwned\n"),
    entry("../../escaped", "0", "pwned\n"),
    entry(join(outside, "a.txt"), "0", "pwned\n"),
    entry("l", "2", "", outside),
    entry("l/a.txt", "0", "pwned\n"),
    entry("root", "2", "", "/"),
    entry(`root${join(outside, "sub/b.txt")}`, "0", "pwned\n"),
    entry("d/", "5"),
    entry("d", "2", "", outside),
    entry("d/new", "0", "pwned\n"),
    entry("h", "1", "", join(outside, "a.txt")),
    entry("h2", "1", "", "../sibling.txt"),
    entry("h3", "1", "", "l"),
    entry("dup", "0", "one\n"),
    entry("dup", "0", "two\n"),
    Buffer.alloc(1024),
  ]);
}

const raw = (bytes: Uint8Array): RawMessage => fromBinary(RawMessageSchema, bytes);

/** Sends `data` over FileSend.DiffCopy as an exporter does, in chunks of `chunk` bytes. */
async function sendOver(target: ExportTarget, data: Uint8Array, asPackets = false, chunk = 1000) {
  const service = createFileSendService(target);
  const client = createClient(
    FileSend,
    createRouterTransport((router) => service.register(router)),
  );
  async function* requests(): AsyncIterable<RawMessage> {
    for (let at = 0; at < data.length; at += chunk) {
      const part = data.subarray(at, at + chunk);
      // A file export gets BytesMessage chunks; a directory export reads the same bytes as
      // fsutil packets.
      yield raw(
        asPackets ? part : toBinary(BytesMessageSchema, create(BytesMessageSchema, { data: part })),
      );
    }
  }
  let callError: unknown;
  try {
    for await (const _ of client.diffCopy(requests())) {
      // The receiver's answers (REQ, ERR) mean nothing to this sender.
    }
  } catch (err) {
    callError = err;
  }
  await service.settled();
  return { failure: service.failure(), callError };
}

describe("FileSend against a hostile tar exporter", () => {
  let base = "";
  let cleanup: () => Promise<void> = async () => undefined;
  before(async () => {
    const t = await tempDir("hln-hostile-tar-");
    base = t.dir;
    cleanup = t.cleanup;
  });
  after(() => cleanup());

  test("a tar export is stored as one file, byte for byte, and nothing is unpacked", async () => {
    const root = join(base, "file");
    const s = await makeSentinel(root);
    const target = join(s.dest, "image.tar");
    const snap = () => snapshotTree(root, { skip: target, noMtime: s.dest });
    const beforeSnap = await snap();
    const tar = hostileTar(s.outside);
    const { failure, callError } = await sendOver({ kind: "file", path: target }, tar);
    assert.equal(failure, undefined);
    assert.equal(callError, undefined);
    assert.ok(
      Buffer.from(await readFile(target)).equals(tar),
      "the file differs from what was sent",
    );
    // Only the file itself is new: no temporary file, no entry of the tar, nothing outside.
    assert.deepEqual((await readdir(s.dest)).sort(), ["image.tar", "previous.txt"]);
    assert.deepEqual(await snap(), beforeSnap);
  });

  test("the same bytes sent to a directory export are refused and nothing is written", async (t) => {
    const root = join(base, "dir");
    const s = await makeSentinel(root);
    const snap = () => snapshotTree(root, { noMtime: s.parent });
    const beforeSnap = await snap();
    const { failure } = await sendOver(
      { kind: "directory", path: s.dest },
      hostileTar(s.outside),
      true,
    );
    assert.ok(failure instanceof HlnError, String(failure));
    t.diagnostic(`refused: ${failure.code} ${failure.message}`);
    // Bytes that are not packets are the engine's fault, not a bug of hln (E_INTERNAL, exit 70).
    assert.equal(failure.code, "E_ENGINE_PROTOCOL", failure.message);
    assert.doesNotMatch(failure.message, /\n/);
    assert.deepEqual(await snap(), beforeSnap);
  });

  // Both are the engine's fault (E_ENGINE_PROTOCOL, exit 3), not a bug of hln (exit 70).
  const broken = [
    // Not even a message: the sender's stream fails after its first chunk.
    { what: "a stream that breaks mid-file", dir: "broken", bytes: [0x2e, 0x00] },
    // A well-formed message, but not a BytesMessage (its field 1 is bytes, not a varint).
    { what: "a frame that is not a file chunk", dir: "not-chunk", bytes: [0x08, 0x01] },
  ];
  for (const c of broken)
    test(`${c.what}, sent to a file export, is refused naming it and leaves nothing`, async () => {
      const root = join(base, c.dir);
      const s = await makeSentinel(root);
      const target = join(s.dest, "image.tar");
      const snap = () => snapshotTree(root, { noMtime: s.dest });
      const beforeSnap = await snap();
      const bytes = Buffer.from(c.bytes);
      const { failure } = await sendOver({ kind: "file", path: target }, bytes, true);
      assert.ok(failure instanceof HlnError, String(failure));
      assert.equal(failure.code, "E_ENGINE_PROTOCOL", failure.message);
      assert.match(failure.message, /image\.tar/);
      assert.doesNotMatch(failure.message, /\n/);
      assert.deepEqual(await snap(), beforeSnap);
    });
});
