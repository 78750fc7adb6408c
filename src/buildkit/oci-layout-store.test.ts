import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { tempDir } from "../../test/helpers/temp-dir.js";
import type { ContentStore } from "./content-store-service.js";
import { createOciLayoutStore, READ_CHUNK_BYTES } from "./oci-layout-store.js";

const digestOf = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const bytes = (s: string) => new TextEncoder().encode(s);

function layout(): string {
  return tempDir("hln-store-");
}

/** Puts `data` into `dir` as a blob, the way an earlier export would have. */
function putBlob(dir: string, data: Uint8Array): string {
  const digest = digestOf(data);
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), data);
  return digest;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<Code> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err).code;
  }
  assert.fail("expected a failure");
}

/** Everything in `dir`, recursively, as relative paths. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

async function write(store: ContentStore, ref: string, data: Uint8Array) {
  const ingest = await store.ingest(ref);
  await ingest.write(data);
  return ingest;
}

describe("createOciLayoutStore", () => {
  it("commits a verified blob under blobs/sha256, read-only, with no temporary file left", async () => {
    const dir = layout();
    const store = createOciLayoutStore(dir);
    const data = bytes("hello layout");
    const ingest = await store.ingest("layer-1");
    await ingest.write(data.subarray(0, 5));
    await ingest.write(data.subarray(5));
    assert.equal(ingest.digest(), digestOf(data));
    assert.equal(store.status("layer-1")?.offset, data.length);
    const blob = await ingest.commit({ size: data.length, digest: digestOf(data) });
    assert.deepEqual([blob.digest, blob.size], [digestOf(data), data.length]);
    const path = join(dir, "blobs", "sha256", digestOf(data).slice(7));
    assert.deepEqual(readFileSync(path), Buffer.from(data));
    assert.equal(statSync(path).mode & 0o777, 0o444);
    assert.deepEqual(tree(dir), [
      "blobs",
      "blobs/sha256",
      `blobs/sha256/${digestOf(data).slice(7)}`,
    ]);
    assert.equal(store.status("layer-1"), undefined);
    assert.equal((await store.info(digestOf(data)))?.size, data.length);
  });

  it("commits without expectations, and the directory is created when missing", async () => {
    const dir = join(layout(), "not", "yet");
    const store = createOciLayoutStore(dir);
    const blob = await (await write(store, "r", bytes("x"))).commit({ size: 0, digest: "" });
    assert.equal(blob.digest, digestOf(bytes("x")));
    assert.ok((await store.info(blob.digest)) !== undefined);
  });

  it("rejects a wrong size or digest at commit and leaves nothing behind", async () => {
    const dir = layout();
    const store = createOciLayoutStore(dir);
    const data = bytes("abc");
    const size = write(store, "a", data).then((i) => i.commit({ size: 4, digest: "" }));
    assert.equal(await codeOf(size), Code.FailedPrecondition);
    const digest = write(store, "b", data).then((i) =>
      i.commit({ size: 3, digest: digestOf(bytes("abd")) }),
    );
    assert.equal(await codeOf(digest), Code.FailedPrecondition);
    assert.deepEqual(tree(dir), []);
    assert.equal(store.status("a"), undefined);
    assert.equal(await store.info(digestOf(data)), undefined);
  });

  it("discards on abort and on discard, and forgets the ref", async () => {
    const dir = layout();
    const store = createOciLayoutStore(dir);
    const ingest = await write(store, "a", bytes("partial"));
    assert.equal(tree(dir).length, 1, "one temporary file while writing");
    assert.equal(await store.abort("a"), true);
    assert.equal(await store.abort("a"), false);
    assert.deepEqual(tree(dir), []);
    assert.equal(await codeOf(ingest.write(bytes("more"))), Code.Aborted);
    assert.equal(await codeOf(ingest.commit({ size: 0, digest: "" })), Code.Aborted);
    const again = await write(store, "a", bytes("x"));
    await again.discard();
    await again.discard();
    assert.deepEqual(tree(dir), []);
  });

  it("starts over after truncate", async () => {
    const store = createOciLayoutStore(layout());
    const ingest = await write(store, "t", bytes("wrong bytes"));
    await ingest.truncate();
    await ingest.write(bytes("right"));
    const blob = await ingest.commit({ size: 5, digest: digestOf(bytes("right")) });
    assert.deepEqual(
      Buffer.concat(await collect(store.read(blob.digest, { offset: 0, length: 5 }))),
      Buffer.from("right"),
    );
  });

  it("lets one writer hold a ref at a time", async () => {
    const store = createOciLayoutStore(layout());
    const [first, second] = await Promise.allSettled([store.ingest("r"), store.ingest("r")]);
    assert.equal(first.status, "fulfilled");
    assert.equal(
      second.status === "rejected" && ConnectError.from(second.reason).code,
      Code.Unavailable,
    );
    if (first.status === "fulfilled") await first.value.discard();
    await (await store.ingest("r")).discard();
  });

  it("reads ranges in chunks of at most 1 MiB", async () => {
    const dir = layout();
    const data = new Uint8Array(2.5 * READ_CHUNK_BYTES);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const digest = putBlob(dir, data);
    const store = createOciLayoutStore(dir);
    const all = await collect(store.read(digest, { offset: 0, length: data.length }));
    assert.deepEqual(
      all.map((c) => c.byteLength),
      [READ_CHUNK_BYTES, READ_CHUNK_BYTES, READ_CHUNK_BYTES / 2],
    );
    assert.ok(Buffer.concat(all).equals(data));
    const part = Buffer.concat(await collect(store.read(digest, { offset: 1000, length: 17 })));
    assert.ok(part.equals(data.subarray(1000, 1017)));
    assert.deepEqual(await collect(store.read(digest, { offset: data.length, length: 0 })), []);
  });

  it("answers info with the size, and undefined for a missing blob", async () => {
    const dir = layout();
    const digest = putBlob(dir, bytes("1234"));
    const store = createOciLayoutStore(dir);
    assert.equal((await store.info(digest))?.size, 4);
    assert.equal(await store.info(digestOf(bytes("other"))), undefined);
    assert.equal(
      await codeOf(collect(store.read(digestOf(bytes("other")), { offset: 0, length: 1 }))),
      Code.NotFound,
    );
  });

  it("refuses digests that are not sha256 hex, so no path can be named", async () => {
    const store = createOciLayoutStore(layout());
    for (const d of [
      "sha256:../../etc/passwd",
      `sha512:${"a".repeat(128)}`,
      `sha256:${"A".repeat(64)}`,
      "",
    ]) {
      assert.equal(await codeOf(store.info(d)), Code.InvalidArgument, d);
      assert.equal(
        await codeOf(collect(store.read(d, { offset: 0, length: 1 }))),
        Code.InvalidArgument,
      );
    }
  });

  it("never uses the ref as a file name", async () => {
    const dir = layout();
    const store = createOciLayoutStore(dir);
    const ingest = await write(store, "../../escape", bytes("z"));
    assert.equal(tree(dir).length, 1);
    assert.match(tree(dir)[0] ?? "", /^\.hln-ingest-[0-9a-f]+\.tmp$/);
    await ingest.commit({ size: 1, digest: "" });
    assert.deepEqual(tree(dir), [
      "blobs",
      "blobs/sha256",
      `blobs/sha256/${digestOf(bytes("z")).slice(7)}`,
    ]);
  });

  it("does not follow symlinks out of the layout", async () => {
    const outside = layout();
    const secret = putBlob(outside, bytes("outside"));
    // A blob that is a symlink to a file elsewhere.
    const dir = layout();
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    symlinkSync(
      join(outside, "blobs", "sha256", secret.slice(7)),
      join(dir, "blobs", "sha256", secret.slice(7)),
    );
    const store = createOciLayoutStore(dir);
    assert.equal(await store.info(secret), undefined);
    assert.equal(
      await codeOf(collect(store.read(secret, { offset: 0, length: 7 }))),
      Code.NotFound,
    );

    // blobs/ itself a symlink to a directory elsewhere: neither read nor written through.
    const dir2 = layout();
    symlinkSync(join(outside, "blobs"), join(dir2, "blobs"));
    const store2 = createOciLayoutStore(dir2);
    assert.equal(await codeOf(store2.info(secret)), Code.PermissionDenied);
    const before = tree(outside);
    const commit = write(store2, "w", bytes("new")).then((i) => i.commit({ size: 3, digest: "" }));
    assert.equal(await codeOf(commit), Code.PermissionDenied);
    assert.deepEqual(tree(outside), before);
    assert.deepEqual(readdirSync(dir2), ["blobs"], "no temporary file left");
  });

  it("honours the abort signal", async () => {
    const dir = layout();
    const digest = putBlob(dir, bytes("data"));
    const store = createOciLayoutStore(dir);
    const signal = AbortSignal.abort();
    await assert.rejects(store.info(digest, { signal }), { code: "E_ABORTED" });
    await assert.rejects(collect(store.read(digest, { offset: 0, length: 4 }, { signal })), {
      code: "E_ABORTED",
    });
    await assert.rejects(store.ingest("r", { signal }), { code: "E_ABORTED" });
    const ingest = await store.ingest("r");
    await assert.rejects(ingest.write(bytes("x"), { signal }), { code: "E_ABORTED" });
    // An aborted step ends the ingest.
    assert.equal(await codeOf(ingest.commit({ size: 0, digest: "" })), Code.Aborted);
    const other = await write(store, "r", bytes("x"));
    await assert.rejects(other.commit({ size: 0, digest: "" }, { signal }), { code: "E_ABORTED" });
    assert.deepEqual(readdirSync(dir), ["blobs"], "no temporary file left");
    assert.equal(store.status("r"), undefined);
  });
});
