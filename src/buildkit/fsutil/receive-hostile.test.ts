/**
 * A stand-in exporter that means harm: it sends fsutil streams built to write outside the
 * destination (`..`, absolute paths, symlinks, hardlinks, duplicate names, data for entries
 * it was never asked for). Each is refused with a one-line error naming the entry, and a
 * sentinel tree around the destination is compared byte for byte (content, mode, mtime,
 * inode, link count) before and after. Streams that are allowed but carry dangerous data
 * (an absolute symlink, a destination that already holds a symlink to outside) must leave
 * everything outside the destination as it was too.
 */
import assert from "node:assert/strict";
import { lstat, readFile, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HlnError } from "../../errors.js";
import { createMemoryPacketStreams } from "./memory-stream.js";
import { receiveDirectory } from "./receive.js";
import { tempDir } from "./testdata/fixtures.js";
import { DIR, type Entry, FILE, LINK, scriptedSender } from "./testdata/scripted-sender.js";
import { makeSentinel, type Sentinel, snapshotTree } from "./testdata/sentinel.js";

async function receive(
  dest: string,
  entries: Entry[],
  options: { mode?: "merge" | "replace"; extra?: { id: number; data: string }[] } = {},
) {
  const [sender, receiver] = createMemoryPacketStreams();
  const sending = scriptedSender(sender, entries, {
    unrequested: options.extra,
    content: () => "pwned\n",
  });
  try {
    return await receiveDirectory(receiver, dest, { mode: options.mode });
  } finally {
    receiver.close();
    sender.close();
    await sending.catch(() => undefined);
  }
}

interface Attack {
  name: string;
  /** Built from the sentinel, so absolute paths point at real files outside. */
  entries: (s: Sentinel) => Entry[];
  extra?: { id: number; data: string }[];
  /** The entry the error must name, as the stream spelled it. */
  names: (s: Sentinel) => string;
}

const attacks: Attack[] = [
  {
    name: "a file at ../",
    entries: () => [{ path: "../sibling.txt", mode: FILE }],
    names: () => "../sibling.txt",
  },
  {
    name: "a new file at ../../",
    entries: () => [{ path: "../../escaped", mode: FILE }],
    names: () => "../../escaped",
  },
  {
    name: "a directory named ..",
    entries: () => [{ path: "..", mode: DIR }],
    names: () => "..",
  },
  {
    name: "a/../../ inside a directory",
    entries: () => [
      { path: "a", mode: DIR },
      { path: "a/../../sibling.txt", mode: FILE },
    ],
    names: () => "a/../../sibling.txt",
  },
  {
    name: "an absolute path onto a file outside",
    entries: (s) => [{ path: join(s.outside, "a.txt"), mode: FILE }],
    names: (s) => join(s.outside, "a.txt"),
  },
  {
    name: "an absolute directory /",
    entries: () => [{ path: "/", mode: DIR }],
    names: () => "/",
  },
  {
    name: "a symlink to outside, then a file through it",
    entries: (s) => [
      { path: "l", mode: LINK, linkname: s.outside },
      { path: "l/a.txt", mode: FILE },
    ],
    names: () => "l/a.txt",
  },
  {
    name: "a symlink to outside, then a directory through it",
    entries: (s) => [
      { path: "l", mode: LINK, linkname: s.outside },
      { path: "l/new-dir", mode: DIR },
    ],
    names: () => "l/new-dir",
  },
  {
    name: "a symlink with an absolute target /, then a file through it",
    entries: (s) => [
      { path: "root", mode: LINK, linkname: "/" },
      { path: `root${join(s.outside, "a.txt")}`, mode: FILE },
    ],
    names: (s) => `root${join(s.outside, "a.txt")}`,
  },
  {
    name: "a symlink to ../.., then a file through it",
    entries: () => [
      { path: "up", mode: LINK, linkname: "../.." },
      { path: "up/top.txt", mode: FILE },
    ],
    names: () => "up/top.txt",
  },
  {
    name: "a symlink replacing a directory mid-stream",
    entries: (s) => [
      { path: "d", mode: DIR },
      { path: "d/x", mode: FILE },
      { path: "d", mode: LINK, linkname: s.outside },
      { path: "d/a.txt", mode: FILE },
    ],
    names: () => "d",
  },
  {
    name: "a symlink replacing a directory at once",
    entries: (s) => [
      { path: "d", mode: DIR },
      { path: "d", mode: LINK, linkname: s.outside },
      { path: "d/a.txt", mode: FILE },
    ],
    names: () => "d",
  },
  {
    name: "a symlink replacing a file",
    entries: (s) => [
      { path: "f", mode: FILE },
      { path: "f", mode: LINK, linkname: join(s.outside, "a.txt") },
    ],
    names: () => "f",
  },
  {
    name: "a hardlink to an absolute path outside",
    entries: (s) => [{ path: "h", mode: FILE, linkname: join(s.outside, "a.txt") }],
    names: (s) => join(s.outside, "a.txt"),
  },
  {
    name: "a hardlink to ../x",
    entries: () => [{ path: "h", mode: FILE, linkname: "../sibling.txt" }],
    names: () => "../sibling.txt",
  },
  {
    name: "a hardlink to a symlink that points out",
    entries: (s) => [
      { path: "l", mode: LINK, linkname: join(s.outside, "a.txt") },
      { path: "m", mode: FILE, linkname: "l" },
    ],
    names: () => "m",
  },
  {
    name: "a hardlink through a symlink to outside",
    entries: (s) => [
      { path: "l", mode: LINK, linkname: s.outside },
      { path: "m", mode: FILE, linkname: "l/a.txt" },
    ],
    names: () => "l/a.txt",
  },
  {
    name: "a hardlink to a directory",
    entries: () => [
      { path: "d", mode: DIR },
      { path: "h", mode: FILE, linkname: "d" },
    ],
    names: () => "h",
  },
  {
    name: "a hardlink to an entry not sent yet",
    entries: () => [
      { path: "a", mode: FILE, linkname: "b" },
      { path: "b", mode: FILE },
    ],
    names: () => "a",
  },
  {
    name: "a hardlink at ../ to a received file",
    entries: () => [
      { path: "a", mode: FILE },
      { path: "../hardlinked", mode: FILE, linkname: "a" },
    ],
    names: () => "../hardlinked",
  },
  {
    name: "a duplicate file",
    entries: () => [
      { path: "a", mode: FILE },
      { path: "a", mode: FILE },
    ],
    names: () => "a",
  },
  {
    name: "a duplicate directory",
    entries: () => [
      { path: "a", mode: DIR },
      { path: "a", mode: DIR },
    ],
    names: () => "a",
  },
  {
    name: "a file then a directory of the same name",
    entries: () => [
      { path: "a", mode: FILE },
      { path: "a", mode: DIR },
    ],
    names: () => "a",
  },
  {
    name: "a duplicate hardlink",
    entries: () => [
      { path: "a", mode: FILE },
      { path: "b", mode: FILE, linkname: "a" },
      { path: "b", mode: FILE, linkname: "a" },
    ],
    names: () => "b",
  },
  {
    name: "a NUL in a path",
    entries: () => [{ path: "a\0/../../x", mode: FILE }],
    names: () => "a\0/../../x",
  },
  {
    name: "data for a symlink nobody requested",
    entries: (s) => [
      { path: "l", mode: LINK, linkname: join(s.outside, "a.txt") },
      { path: "z", mode: FILE },
    ],
    extra: [{ id: 0, data: "through the link\n" }],
    names: () => "id 0",
  },
];

describe("receiveDirectory against a hostile exporter", () => {
  let base = "";
  let cleanup: () => Promise<void> = async () => undefined;
  before(async () => {
    const t = await tempDir("hln-hostile-");
    base = t.dir;
    cleanup = t.cleanup;
  });
  after(() => cleanup());

  let n = 0;
  async function sentinel(): Promise<{ root: string; s: Sentinel }> {
    const root = join(base, String(n++));
    return { root, s: await makeSentinel(root) };
  }

  // Refusals come before the install step, so the install mode plays no part in them.
  for (const attack of attacks) {
    test(`refuses ${attack.name}; nothing outside is written`, async () => {
      const { root, s } = await sentinel();
      const snap = () => snapshotTree(root, { noMtime: s.parent });
      const beforeSnap = await snap();
      const err = await receive(s.dest, attack.entries(s), { extra: attack.extra }).then(
        () => assert.fail("the stream was accepted"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof HlnError, String(err));
      assert.equal(err.code, "E_ENGINE_PROTOCOL", err.message);
      assert.doesNotMatch(err.message, /\n/);
      const named = attack.names(s);
      assert.ok(
        err.message.includes(named.startsWith("id ") ? named : JSON.stringify(named)),
        `${err.message} does not name ${named}`,
      );
      // The destination too: a refused export leaves it as it was, and no staging behind.
      assert.deepEqual(await snap(), beforeSnap);
    });
  }

  test("a symlink with an absolute target is kept as a link, never followed", async () => {
    const { root, s } = await sentinel();
    const outsideSnap = () => snapshotTree(root, { skip: s.dest, noMtime: s.parent });
    const beforeSnap = await outsideSnap();
    await receive(s.dest, [
      { path: "abs", mode: LINK, linkname: join(s.outside, "a.txt") },
      { path: "root", mode: LINK, linkname: "/" },
      { path: "up", mode: LINK, linkname: "../../outside" },
    ]);
    assert.equal(await readlink(join(s.dest, "abs")), join(s.outside, "a.txt"));
    assert.equal(await readlink(join(s.dest, "root")), "/");
    assert.equal(await readlink(join(s.dest, "up")), "../../outside");
    assert.deepEqual(await outsideSnap(), beforeSnap);
  });

  for (const mode of ["merge", "replace"] as const) {
    test(`${mode}: symlinks planted in the destination are replaced, not written through`, async () => {
      const { root, s } = await sentinel();
      await symlink(s.outside, join(s.dest, "planted-dir"));
      await symlink(join(s.outside, "a.txt"), join(s.dest, "planted-file"));
      await symlink("../../top.txt", join(s.dest, "planted-rel"));
      const outsideSnap = () => snapshotTree(root, { skip: s.dest, noMtime: s.parent });
      const beforeSnap = await outsideSnap();
      await receive(
        s.dest,
        [
          { path: "planted-dir", mode: DIR },
          { path: "planted-dir/a.txt", mode: FILE },
          { path: "planted-dir/sub", mode: DIR },
          { path: "planted-dir/sub/b.txt", mode: FILE },
          { path: "planted-file", mode: FILE },
          { path: "planted-rel", mode: FILE },
        ],
        { mode },
      );
      assert.deepEqual(await outsideSnap(), beforeSnap);
      assert.ok((await lstat(join(s.dest, "planted-dir"))).isDirectory());
      assert.equal(await readFile(join(s.dest, "planted-dir/sub/b.txt"), "utf8"), "pwned\n");
      assert.ok((await lstat(join(s.dest, "planted-file"))).isFile());
      assert.ok((await lstat(join(s.dest, "planted-rel"))).isFile());
    });
  }
});
