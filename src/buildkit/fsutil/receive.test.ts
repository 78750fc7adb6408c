import assert from "node:assert/strict";
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { HlnError } from "../../errors.js";
import { PacketSchema, PacketType, StatSchema } from "../../gen/buildkit/fsutil_pb.js";
import { createMemoryPacketStreams } from "./memory-stream.js";
import { receiveDirectory } from "./receive.js";
import { tempDir } from "./testdata/fixtures.js";
import { DIR, type Entry, FILE, LINK, scriptedSender } from "./testdata/scripted-sender.js";

async function receive(
  dest: string,
  entries: Entry[],
  options: Parameters<typeof scriptedSender>[2] = {},
) {
  const [sender, receiver] = createMemoryPacketStreams();
  const sending = scriptedSender(sender, entries, options);
  try {
    return await receiveDirectory(receiver, dest);
  } finally {
    receiver.close();
    await sending;
  }
}

describe("receiveDirectory", () => {
  let base = "";
  let cleanup: () => Promise<void> = async () => undefined;
  before(async () => {
    const t = await tempDir();
    base = t.dir;
    cleanup = t.cleanup;
  });
  after(() => cleanup());

  /** A destination holding one file, to prove a failed export leaves it alone. */
  async function existingDest(name: string): Promise<string> {
    const dest = join(base, name, "out");
    await mkdir(dest, { recursive: true });
    await writeFile(join(dest, "previous.txt"), "previous export");
    return dest;
  }

  async function assertUntouched(dest: string): Promise<void> {
    assert.deepEqual(await readdir(dest), ["previous.txt"]);
    assert.equal(await readFile(join(dest, "previous.txt"), "utf8"), "previous export");
    // No temporary tree left beside it.
    assert.deepEqual(await readdir(join(dest, "..")), ["out"]);
  }

  const rejected = (pattern: RegExp) => (e: unknown) =>
    e instanceof HlnError && e.code === "E_ENGINE_PROTOCOL" && pattern.test(e.message);

  test("writes files, dirs, symlinks and hardlinks from a well-formed stream", async () => {
    const dest = await existingDest("ok");
    const result = await receive(dest, [
      { path: "a", mode: DIR },
      { path: "a/x", mode: 0o600 },
      { path: "l", mode: LINK, linkname: "/etc/passwd" },
      { path: "x", mode: FILE },
      { path: "y", mode: FILE, linkname: "x" },
    ]);
    assert.deepEqual(result, { files: 2, bytes: 26, entries: 5 });
    // Merged into the destination: what was there stays.
    assert.deepEqual((await readdir(dest)).sort(), ["a", "l", "previous.txt", "x", "y"]);
    assert.equal(await readFile(join(dest, "a/x"), "utf8"), "content of a/x");
    assert.equal((await lstat(join(dest, "a/x"))).mode & 0o777, 0o600);
    assert.equal(await readlink(join(dest, "l")), "/etc/passwd");
    assert.equal((await lstat(join(dest, "x"))).ino, (await lstat(join(dest, "y"))).ino);
    assert.equal(
      (await lstat(join(dest, "x"), { bigint: true })).mtimeNs,
      1_700_000_000_000_000_000n,
    );
  });

  test('mode "replace" leaves exactly the received tree', async () => {
    const dest = await existingDest("replace");
    const [sender, receiver] = createMemoryPacketStreams();
    const sending = scriptedSender(sender, [{ path: "x", mode: FILE }]);
    await receiveDirectory(receiver, dest, { mode: "replace" }).finally(() => receiver.close());
    await sending;
    assert.deepEqual(await readdir(dest), ["x"]);
    assert.deepEqual(await readdir(join(dest, "..")), ["out"]);
  });

  const escapes: [name: string, entries: (outside: string) => Entry[], error: RegExp][] = [
    ["parent path", () => [{ path: "../escaped", mode: FILE }], /leaves the destination/],
    [
      "parent path in a directory",
      () => [
        { path: "a", mode: DIR },
        { path: "a/../../escaped", mode: FILE },
      ],
      /not a clean relative path/,
    ],
    ["absolute path", (outside) => [{ path: `${outside}/escaped`, mode: FILE }], /absolute path/],
    [
      "absolute /etc path",
      () => [{ path: "/etc/hln-should-not-exist", mode: FILE }],
      /absolute path/,
    ],
    [
      "through a symlink to /",
      () => [
        { path: "link", mode: LINK, linkname: "/" },
        { path: "link/tmp", mode: DIR },
      ],
      /out of order/,
    ],
    [
      "through a symlink to a directory outside",
      (outside) => [
        { path: "link", mode: LINK, linkname: outside },
        { path: "link/escaped", mode: FILE },
      ],
      /out of order/,
    ],
    [
      "out of order",
      () => [
        { path: "b", mode: FILE },
        { path: "a", mode: FILE },
      ],
      /out of order/,
    ],
    [
      "duplicate name",
      () => [
        { path: "a", mode: FILE },
        { path: "a", mode: FILE },
      ],
      /out of order/,
    ],
    ["child before its directory", () => [{ path: "d/x", mode: FILE }], /out of order/],
    [
      "child of a file",
      () => [
        { path: "f", mode: FILE },
        { path: "f/x", mode: FILE },
      ],
      /out of order/,
    ],
    ["dot", () => [{ path: ".", mode: DIR }], /not a clean/],
    ["empty path", () => [{ path: "", mode: FILE }], /not a clean/],
    ["trailing slash", () => [{ path: "a/", mode: DIR }], /not a clean/],
    [
      "hardlink to an unknown path",
      () => [{ path: "h", mode: FILE, linkname: "../../etc/passwd" }],
      /invalid hardlink/,
    ],
    [
      "hardlink to a symlink",
      () => [
        { path: "l", mode: LINK, linkname: "/etc/passwd" },
        { path: "m", mode: FILE, linkname: "l" },
      ],
      /invalid hardlink/,
    ],
  ];

  for (const [name, entries, error] of escapes) {
    test(`rejects ${name} and leaves the destination untouched`, async () => {
      const slug = name.replace(/[^a-z]+/g, "-");
      const dest = await existingDest(`escape-${slug}`);
      const outside = join(base, `outside-${slug}`);
      await mkdir(outside);
      const [sender, receiver] = createMemoryPacketStreams();
      const sending = scriptedSender(sender, entries(outside));
      await assert.rejects(receiveDirectory(receiver, dest), rejected(error));
      receiver.close();
      await sending;
      await assertUntouched(dest);
      assert.deepEqual(await readdir(outside), []);
      await assert.rejects(lstat("/etc/hln-should-not-exist"));
      // The sender was told why.
      const err = receiver.sent.find((p) => p.type === PacketType.PACKET_ERR);
      assert.ok(err !== undefined, "no ERR sent");
    });
  }

  test("a sender error or an early end fails the export and keeps the old contents", async () => {
    for (const cut of ["err", "eof"] as const) {
      const dest = await existingDest(`cut-${cut}`);
      await assert.rejects(
        receive(dest, [{ path: "a", mode: FILE }], { cut }),
        rejected(
          cut === "err" ? /error from sender: the build failed/ : /closed the file transfer/,
        ),
      );
      await assertUntouched(dest);
    }
  });

  test("abort cancels the export and keeps the old contents", async () => {
    const dest = await existingDest("abort");
    const [sender, receiver] = createMemoryPacketStreams();
    const ac = new AbortController();
    // Announce a file but never end the stats: the receiver waits until aborted.
    await sender.send(
      create(PacketSchema, { stat: create(StatSchema, { path: "a", mode: FILE }) }),
    );
    const receiving = receiveDirectory(receiver, dest, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(
      receiving,
      (e: unknown) => e instanceof HlnError && e.code === "E_ABORTED",
    );
    sender.close();
    receiver.close();
    await assertUntouched(dest);
  });

  test("a destination that is a file is refused", async () => {
    const file = join(base, "a-file");
    await writeFile(file, "x");
    await assert.rejects(
      receive(file, []),
      (e: unknown) => e instanceof HlnError && e.code === "E_USAGE",
    );
  });
});
