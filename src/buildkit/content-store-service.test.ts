import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { tempDir } from "../../test/helpers/temp-dir.js";
import {
  Content,
  WriteAction,
  type WriteContentRequestSchema,
  type WriteContentResponse,
} from "../gen/containerd/content_pb.js";
import { type ContentStore, createContentStoreService } from "./content-store-service.js";
import { createOciLayoutStore } from "./oci-layout-store.js";
import { rawMetadataHeader } from "./session-metadata.js";

const digestOf = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const bytes = (s: string) => new TextEncoder().encode(s);

function layout(): string {
  return tempDir("hln-content-");
}

function putBlob(dir: string, data: Uint8Array): string {
  const digest = digestOf(data);
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), data);
  return digest;
}

function clientFor(stores: Record<string, ContentStore>) {
  const service = createContentStoreService(stores);
  return createClient(
    Content,
    createRouterTransport((router) => service.register(router)),
  );
}

/** Call options naming the store, packed as the session server packs BuildKit's metadata. */
function forStore(id: string | undefined) {
  const md = id === undefined ? {} : { "buildkit-attachable-store-id": [id] };
  return { headers: { [rawMetadataHeader]: JSON.stringify(md) } };
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

type WriteReq = MessageInitShape<typeof WriteContentRequestSchema>;

/** A Write stream driven one message at a time, as containerd's proxy writer does. */
function writeStream(client: ReturnType<typeof clientFor>, storeId: string) {
  const queue: Array<WriteReq | null> = [];
  let wake: (() => void) | undefined;
  async function* requests(): AsyncIterable<WriteReq> {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const next = queue.shift();
      if (next === null || next === undefined) return;
      yield next;
    }
  }
  const responses = client.write(requests(), forStore(storeId))[Symbol.asyncIterator]();
  const push = (m: WriteReq | null) => {
    queue.push(m);
    wake?.();
  };
  return {
    async send(m: WriteReq): Promise<WriteContentResponse> {
      push(m);
      const r = await responses.next();
      assert.ok(!r.done, "the server answers every message");
      return r.value;
    },
    /** Half-closes and waits for the end of the stream. */
    async close(): Promise<void> {
      push(null);
      const r = await responses.next();
      assert.ok(r.done);
    },
  };
}

describe("createContentStoreService", () => {
  it("announces the methods BuildKit uses", () => {
    assert.deepEqual(createContentStoreService({}).methods, [
      "/containerd.services.content.v1.Content/Info",
      "/containerd.services.content.v1.Content/Read",
      "/containerd.services.content.v1.Content/Status",
      "/containerd.services.content.v1.Content/Write",
      "/containerd.services.content.v1.Content/Abort",
    ]);
  });

  it("chooses the store by buildkit-attachable-store-id", async () => {
    const [a, b] = [layout(), layout()];
    const digest = putBlob(b, bytes("in b"));
    const client = clientFor({
      "local:a": createOciLayoutStore(a),
      "local:b": createOciLayoutStore(b),
    });
    const res = await client.info({ digest }, forStore("local:b"));
    assert.equal(res.info?.size, 4n);
    assert.equal(res.info?.digest, digest);
    assert.ok(res.info?.updatedAt);
    assert.equal((await failure(client.info({ digest }, forStore("local:a")))).code, Code.NotFound);
  });

  it("answers NOT_FOUND for an unknown store, naming it and the stores it serves", async () => {
    const client = clientFor({ "local:/c": createOciLayoutStore(layout()) });
    const e = await failure(client.info({ digest: digestOf(bytes("x")) }, forStore("local:/d")));
    assert.equal(e.code, Code.NotFound);
    assert.match(
      e.rawMessage,
      /unknown content store "local:\/d" \(this session serves: "local:\/c"\)/,
    );
    const none = await failure(client.info({ digest: digestOf(bytes("x")) }, forStore(undefined)));
    assert.equal(none.code, Code.InvalidArgument);
    assert.match(none.rawMessage, /buildkit-attachable-store-id/);
  });

  it("refuses a digest that is not sha256", async () => {
    const client = clientFor({ s: createOciLayoutStore(layout()) });
    const e = await failure(client.info({ digest: "sha256:../../x" }, forStore("s")));
    assert.equal(e.code, Code.InvalidArgument);
  });

  it("reads ranges as containerd's server does", async () => {
    const dir = layout();
    const data = new Uint8Array(3 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const digest = putBlob(dir, data);
    const client = clientFor({ s: createOciLayoutStore(dir) });
    const read = (offset: number, size: number) =>
      collect(client.read({ digest, offset: BigInt(offset), size: BigInt(size) }, forStore("s")));

    const all = await read(0, 0);
    assert.deepEqual(
      all.map((r) => [r.offset, r.data.byteLength]),
      [
        [0n, 1 << 20],
        [1n << 20n, 1 << 20],
        [2n << 20n, 1 << 20],
      ],
    );
    assert.ok(Buffer.concat(all.map((r) => r.data)).equals(data));
    const mid = await read(5, 10);
    assert.deepEqual(
      mid.map((r) => r.offset),
      [5n],
    );
    assert.ok(Buffer.from(mid[0]!.data).equals(data.subarray(5, 15)));
    // A size past the end reads to the end, as the proxy ReaderAt expects.
    const tail = await read(data.length - 3, 100);
    assert.equal(tail[0]?.data.byteLength, 3);
    assert.deepEqual(await read(data.length, 0), []);
    assert.equal((await failure(read(data.length + 1, 0))).code, Code.OutOfRange);
    const missing = collect(client.read({ digest: digestOf(bytes("no")) }, forStore("s")));
    assert.equal((await failure(missing)).code, Code.NotFound);
  });

  it("writes a blob the way the proxy writer does: STAT, WRITE..., COMMIT", async () => {
    const dir = layout();
    const client = clientFor({ s: createOciLayoutStore(dir) });
    const data = bytes("layer bytes, in two writes");
    const digest = digestOf(data);
    const w = writeStream(client, "s");
    const stat = await w.send({
      action: WriteAction.STAT,
      ref: "layer-x",
      total: BigInt(data.length),
      expected: digest,
    });
    assert.equal(stat.offset, 0n);
    assert.equal(stat.total, BigInt(data.length));
    assert.ok(stat.startedAt);

    const status = await client.status({ ref: "layer-x" }, forStore("s"));
    assert.equal(status.status?.ref, "layer-x");
    assert.equal(status.status?.expected, digest);

    const w1 = await w.send({ action: WriteAction.WRITE, data: data.subarray(0, 6) });
    assert.equal(w1.offset, 6n);
    assert.equal(w1.digest, digestOf(data.subarray(0, 6)));
    const w2 = await w.send({ action: WriteAction.WRITE, offset: 6n, data: data.subarray(6) });
    assert.equal(w2.offset, BigInt(data.length));
    const done = await w.send({
      action: WriteAction.COMMIT,
      offset: BigInt(data.length),
      total: BigInt(data.length),
      expected: digest,
    });
    assert.equal(done.action, WriteAction.COMMIT);
    assert.equal(done.offset, BigInt(data.length));
    assert.equal(done.digest, digest);
    await w.close();

    assert.equal((await client.info({ digest }, forStore("s"))).info?.size, BigInt(data.length));
    const back = await collect(client.read({ digest }, forStore("s")));
    assert.ok(Buffer.from(back[0]!.data).equals(data));
    assert.equal(
      (await failure(client.status({ ref: "layer-x" }, forStore("s")))).code,
      Code.NotFound,
    );
  });

  it("answers ALREADY_EXISTS when the expected blob is there, writing nothing", async () => {
    const dir = layout();
    const digest = putBlob(dir, bytes("have it"));
    const client = clientFor({ s: createOciLayoutStore(dir) });
    const w = writeStream(client, "s");
    const e = await failure(w.send({ action: WriteAction.STAT, ref: "r", expected: digest }));
    assert.equal(e.code, Code.AlreadyExists);
    assert.deepEqual(readdirSync(dir), ["blobs"]);
  });

  it("leaves nothing when the stream ends without COMMIT", async () => {
    const dir = layout();
    const client = clientFor({ s: createOciLayoutStore(dir) });
    const w = writeStream(client, "s");
    await w.send({ action: WriteAction.STAT, ref: "r" });
    await w.send({ action: WriteAction.WRITE, data: bytes("half a blob") });
    assert.equal(readdirSync(dir).length, 1);
    await w.close();
    assert.deepEqual(readdirSync(dir), []);
    assert.equal((await failure(client.status({ ref: "r" }, forStore("s")))).code, Code.NotFound);
  });

  it("fails a commit whose digest or size does not match, leaving nothing", async () => {
    const dir = layout();
    const client = clientFor({ s: createOciLayoutStore(dir) });
    for (const bad of [{ expected: digestOf(bytes("other")) }, { total: 99n, expected: "" }]) {
      const w = writeStream(client, "s");
      await w.send({ action: WriteAction.STAT, ref: "r" });
      const e = await failure(w.send({ action: WriteAction.COMMIT, data: bytes("abc"), ...bad }));
      assert.equal(e.code, Code.FailedPrecondition, e.rawMessage);
      assert.match(e.rawMessage, /unexpected commit (digest|size)/);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it("refuses a write at the wrong offset, and starts over at offset 0", async () => {
    const client = clientFor({ s: createOciLayoutStore(layout()) });
    const w = writeStream(client, "s");
    await w.send({ action: WriteAction.WRITE, ref: "r", data: bytes("junk") });
    const restart = await w.send({ action: WriteAction.WRITE, offset: 0n, data: bytes("ok") });
    assert.equal(restart.offset, 2n);
    assert.equal(restart.digest, digestOf(bytes("ok")));
    const e = await failure(w.send({ action: WriteAction.WRITE, offset: 5n, data: bytes("x") }));
    assert.equal(e.code, Code.OutOfRange);
  });

  it("requires a ref on the first message, and lets one stream hold a ref", async () => {
    const client = clientFor({ s: createOciLayoutStore(layout()) });
    const e = await failure(writeStream(client, "s").send({ action: WriteAction.STAT }));
    assert.equal(e.code, Code.InvalidArgument);
    const w = writeStream(client, "s");
    await w.send({ action: WriteAction.STAT, ref: "r" });
    const busy = await failure(
      writeStream(client, "s").send({ action: WriteAction.STAT, ref: "r" }),
    );
    assert.equal(busy.code, Code.Unavailable);
    await w.close();
  });

  it("aborts an ingest by ref", async () => {
    const dir = layout();
    const client = clientFor({ s: createOciLayoutStore(dir) });
    const w = writeStream(client, "s");
    await w.send({ action: WriteAction.WRITE, ref: "r", data: bytes("part") });
    await client.abort({ ref: "r" }, forStore("s"));
    assert.deepEqual(readdirSync(dir), []);
    assert.equal((await failure(client.abort({ ref: "r" }, forStore("s")))).code, Code.NotFound);
    const e = await failure(w.send({ action: WriteAction.WRITE, offset: 4n, data: bytes("more") }));
    assert.equal(e.code, Code.Aborted);
  });

  it("answers UNIMPLEMENTED for the methods BuildKit's remote caches never call", async () => {
    const client = clientFor({ s: createOciLayoutStore(layout()) });
    const o = forStore("s");
    assert.equal((await failure(client.update({}, o))).code, Code.Unimplemented);
    assert.equal((await failure(client.delete({}, o))).code, Code.Unimplemented);
    assert.equal((await failure(client.listStatuses({}, o))).code, Code.Unimplemented);
    assert.equal((await failure(collect(client.list({}, o)))).code, Code.Unimplemented);
  });

  it("hands the store the call's abort signal", async () => {
    let seen: AbortSignal | undefined;
    const store: ContentStore = {
      ...createOciLayoutStore(layout()),
      info: async (_d, o) => {
        seen = o?.signal;
        return undefined;
      },
    };
    await failure(clientFor({ s: store }).info({ digest: digestOf(bytes("x")) }, forStore("s")));
    assert.ok(seen instanceof AbortSignal);
  });
});
