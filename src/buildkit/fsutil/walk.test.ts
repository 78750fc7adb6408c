import assert from "node:assert/strict";
import { lstat, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { HlnError } from "../../errors.js";
import type { Stat } from "../../gen/buildkit/fsutil_pb.js";
import { StatSchema } from "../../gen/buildkit/fsutil_pb.js";
import { GoMode, isDirMode, isSymlinkMode } from "./file-mode.js";
import { makeTree, tempDir } from "./testdata/fixtures.js";
import {
  dedupePaths,
  fastNodeWalkFs,
  newStat,
  nodeWalkFs,
  type WalkFs,
  type WalkOptions,
  walkDirectory,
} from "./walk.js";

const GOLDEN = fileURLToPath(new URL("./testdata/walk-order.golden.txt", import.meta.url));

async function walk(root: string, options: WalkOptions = {}): Promise<Stat[]> {
  const out: Stat[] = [];
  for await (const stat of walkDirectory(root, options)) out.push(stat);
  return out;
}

const paths = (stats: Stat[]) => stats.map((s) => s.path);

function describeStat(s: Stat): string {
  if (isDirMode(s.mode)) return `d ${s.path}`;
  if (isSymlinkMode(s.mode)) return `l ${s.path} -> ${s.linkname}`;
  if (s.linkname !== "") return `h ${s.path} => ${s.linkname}`;
  return `f ${s.path}`;
}

/** A WalkFs that records the directories read. */
function countingFs(): WalkFs & { reads: string[] } {
  const reads: string[] = [];
  return {
    ...nodeWalkFs,
    reads,
    readdir(path) {
      reads.push(path);
      return nodeWalkFs.readdir(path);
    },
  };
}

describe("walkDirectory", () => {
  let root = "";
  let cleanup: () => Promise<void> = async () => undefined;

  before(async () => {
    const t = await tempDir();
    root = join(t.dir, "ctx");
    cleanup = t.cleanup;
    await mkdir(root);
    await makeTree(root);
  });
  after(() => cleanup());

  test("yields fsutil order: dirs before children, names by UTF-8 bytes (golden)", async () => {
    const listing = `${(await walk(root)).map(describeStat).join("\n")}\n`;
    if (process.env.HLN_UPDATE_GOLDEN === "1") await writeFile(GOLDEN, listing);
    assert.equal(listing, await readFile(GOLDEN, "utf8"));
  });

  test("stats carry Go modes, zero owners, ns mtimes, link targets and hardlinks", async () => {
    const stats = new Map((await walk(root)).map((s) => [s.path, s]));
    const at = (p: string) => stats.get(p) ?? assert.fail(`missing ${p}`);

    assert.equal(at("a").mode, (GoMode.dir | 0o755) >>> 0);
    assert.equal(at("a").size, 0n);
    assert.equal(at("a/deep").mode, (GoMode.dir | 0o750) >>> 0);
    assert.equal(at("a/deep/x.txt").mode, 0o640);
    assert.equal(at("x.sh").mode, 0o755);
    assert.equal(at("ro").mode, (GoMode.dir | 0o555) >>> 0);
    assert.equal(at("big.bin").size, BigInt((await lstat(join(root, "big.bin"))).size));
    assert.equal(at("a.txt").modTime, (await lstat(join(root, "a.txt"), { bigint: true })).mtimeNs);
    assert.equal(at("a.txt").modTime, 1_600_000_000_125_000_000n);
    for (const s of stats.values()) {
      assert.equal(s.uid, 0);
      assert.equal(s.gid, 0);
    }

    assert.equal(at("link").mode, GoMode.symlink | 0o777);
    assert.equal(at("link").linkname, "a.txt");
    assert.equal(at("link").size, 5n);
    assert.equal(at("abs").linkname, "/etc");
    // A symlink to a directory is not followed.
    assert.equal(at("dirlink").linkname, "a");
    assert.equal(stats.has("dirlink/b"), false);

    assert.equal(at("h1").linkname, "");
    assert.equal(at("h2").linkname, "h1");
    assert.equal(at("h2").mode, 0o644);
  });

  test("excluded subtrees are never read", async () => {
    const fs = countingFs();
    const stats = await walk(root, { excludePatterns: ["c", "a/deep", "*.bin"], fs });
    assert.equal(
      fs.reads.some((p) => p.endsWith("/c") || p.endsWith("/c/d") || p.endsWith("/deep")),
      false,
    );
    const got = paths(stats);
    for (const gone of ["c", "c/d", "c/d/e.txt", "a/deep", "a/deep/x.txt", "big.bin"]) {
      assert.equal(got.includes(gone), false, gone);
    }
    assert.equal(got.includes("a/b"), true);
  });

  test("an exception re-includes a file inside an excluded directory, parents first", async () => {
    const fs = countingFs();
    const got = paths(await walk(root, { excludePatterns: ["c", "a", "!c/d/e.txt"], fs }));
    assert.deepEqual(
      got.filter((p) => p.startsWith("c") || p.startsWith("a/") || p === "a"),
      ["c", "c/d", "c/d/e.txt"],
    );
    // "a" cannot hold an exception, so it is skipped unread; "c" must be read.
    assert.equal(
      fs.reads.some((p) => p.endsWith("/a")),
      false,
    );
    assert.equal(
      fs.reads.some((p) => p.endsWith("/c")),
      true,
    );
  });

  test("include patterns: matches with everything below, ancestors emitted lazily", async () => {
    const fs = countingFs();
    const got = paths(await walk(root, { includePatterns: ["c/d/e.txt", "a/deep"], fs }));
    assert.deepEqual(got, ["a", "a/deep", "a/deep/x.txt", "c", "c/d", "c/d/e.txt"]);
    // Plain include paths let the walk skip unrelated directories.
    assert.equal(
      fs.reads.some((p) => p.endsWith("/ro")),
      false,
    );

    const wild = paths(await walk(root, { includePatterns: ["**/*.txt"] }));
    assert.deepEqual(wild, [
      "a",
      "a/deep",
      "a/deep/x.txt",
      "a.txt",
      "c",
      "c/d",
      "c/d/e.txt",
      "é.txt",
      "😀.txt",
    ]);
  });

  test("include and exclude together", async () => {
    const got = paths(await walk(root, { includePatterns: ["a"], excludePatterns: ["a/deep"] }));
    assert.deepEqual(got, ["a", "a/b"]);
  });

  test("followpaths resolves symlinks inside the root and ignores missing paths", async () => {
    assert.deepEqual(paths(await walk(root, { followPaths: ["link"] })), ["a.txt", "link"]);
    assert.deepEqual(paths(await walk(root, { followPaths: ["lin*"] })), ["a.txt", "link"]);
    assert.deepEqual(paths(await walk(root, { followPaths: ["dirlink/b"] })), [
      "a",
      "a/b",
      "dirlink",
    ]);
    assert.deepEqual(paths(await walk(root, { followPaths: ["nope", "x.sh"] })), ["x.sh"]);
    // An absolute target is taken inside the root: /etc/passwd is never read.
    assert.deepEqual(paths(await walk(root, { followPaths: ["abs/passwd"] })), ["abs"]);
    assert.deepEqual(dedupePaths(["a", "a/b", "b"]), ["a", "b"]);
    assert.equal(dedupePaths(["a", "."]), undefined);
  });

  test("errors: missing root, bad patterns, abort", async () => {
    await assert.rejects(
      walk(join(root, "missing")),
      (e: unknown) => e instanceof HlnError && e.code === "E_USAGE",
    );
    await assert.rejects(walk(join(root, "a.txt")), /not a directory/);
    await assert.rejects(
      walk(root, { excludePatterns: ["["] }),
      (e: unknown) => e instanceof HlnError && e.code === "E_INPUT_INVALID",
    );
    const ac = new AbortController();
    const it = walkDirectory(root, { signal: ac.signal });
    await it.next();
    ac.abort();
    await assert.rejects(
      it.next(),
      (e: unknown) => e instanceof HlnError && e.code === "E_ABORTED",
    );
  });

  test("a symlinked root is resolved, its entries walked", async () => {
    const t = await tempDir();
    try {
      await symlink(root, join(t.dir, "via-link"));
      assert.deepEqual(paths(await walk(join(t.dir, "via-link"), { includePatterns: ["a.txt"] })), [
        "a.txt",
      ]);
    } finally {
      await t.cleanup();
    }
  });
});

describe("walk fast paths", () => {
  test("a plain-object Stat equals the generic create()", () => {
    assert.deepEqual(
      newStat("a/b", 0o644, 123n),
      create(StatSchema, { path: "a/b", mode: 0o644, modTime: 123n }),
    );
  });

  test("the blocking and the promise file system walk alike", async () => {
    const root = fileURLToPath(new URL(".", import.meta.url));
    const slow = await walk(root, { fs: nodeWalkFs });
    const fast = await walk(root, { fs: fastNodeWalkFs });
    assert.ok(fast.length > 10);
    assert.deepEqual(fast, slow);
  });
});
