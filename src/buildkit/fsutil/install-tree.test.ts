import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HlnError } from "../../errors.js";
import { GoMode } from "./file-mode.js";
import {
  type DirMeta,
  discardStaging,
  installTree,
  type KeptPath,
  keptWithin,
  prepareDestination,
  stageBeside,
} from "./install-tree.js";
import { tempDir } from "./testdata/fixtures.js";

const DIR_META: DirMeta = { mode: (GoMode.dir | 0o755) >>> 0, mtime: 1_700_000_000_000_000_000n };

/** Stages `files` (path -> contents; a trailing "/" makes a directory) and installs them. */
async function install(
  dest: string,
  files: Record<string, string>,
  options: { mode?: "merge" | "replace"; keep?: KeptPath[] } = {},
): Promise<void> {
  const target = await prepareDestination(dest);
  const staging = await stageBeside(target, dest);
  const dirs = new Map<string, DirMeta>();
  try {
    for (const [path, contents] of Object.entries(files)) {
      if (path.endsWith("/")) {
        await mkdir(join(staging.tree, path));
        dirs.set(path.slice(0, -1), DIR_META);
      } else {
        await writeFile(join(staging.tree, path), contents);
      }
    }
    await installTree(staging, target, { ...options, dirs });
  } finally {
    await discardStaging(staging);
  }
}

/** Every entry under `dir`, directories with a trailing "/", symlinks as "-> target". */
async function listing(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const st = await lstat(join(dir, path));
    if (st.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(dir, path))}`);
    else if (st.isDirectory()) out.push(`${path}/`, ...(await listing(dir, path)));
    else out.push(`${path}: ${await readFile(join(dir, path), "utf8")}`);
  }
  return out;
}

const usage = (pattern: RegExp) => (e: unknown) =>
  e instanceof HlnError && e.code === "E_USAGE" && pattern.test(e.message);

describe("installTree", () => {
  let base = "";
  let cleanup: () => Promise<void> = async () => undefined;
  before(async () => {
    const t = await tempDir("hln-install-");
    base = await realpath(t.dir);
    cleanup = t.cleanup;
  });
  after(() => cleanup());

  /** A destination as a user leaves it: their own files, a subdirectory, a symlink. */
  async function userDest(name: string): Promise<string> {
    const dest = join(base, name, "out");
    await mkdir(join(dest, "sub"), { recursive: true });
    await writeFile(join(dest, "mine.txt"), "mine");
    await writeFile(join(dest, "same.txt"), "old");
    await writeFile(join(dest, "sub/mine.txt"), "mine too");
    await writeFile(join(base, name, "outside.txt"), "outside");
    await symlink("../outside.txt", join(dest, "link"));
    return dest;
  }

  const userFiles = [
    "link -> ../outside.txt",
    "mine.txt: mine",
    "same.txt: old",
    "sub/",
    "sub/mine.txt: mine too",
  ];

  test("merge (the default) writes into the destination and leaves other files alone", async () => {
    const dest = await userDest("merge");
    await install(dest, {
      "new.txt": "new",
      "same.txt": "new",
      "sub/": "",
      "sub/x": "x",
      link: "file",
    });
    assert.deepEqual(await listing(dest), [
      "link: file",
      "mine.txt: mine",
      "new.txt: new",
      "same.txt: new",
      "sub/",
      "sub/mine.txt: mine too",
      "sub/x: x",
    ]);
    // The symlink was replaced, never followed.
    assert.equal(await readFile(join(base, "merge/outside.txt"), "utf8"), "outside");
    // Nothing left beside the destination.
    assert.deepEqual((await readdir(join(base, "merge"))).sort(), ["out", "outside.txt"]);
  });

  test("merge refuses to replace a directory with a file, and changes nothing", async () => {
    const dest = await userDest("file-over-dir");
    await assert.rejects(
      install(dest, { "a.txt": "new", sub: "a file now" }),
      usage(/"sub" where .*\/out\/sub is a directory/),
    );
    assert.deepEqual(await listing(dest), userFiles);
  });

  test("replace leaves exactly the result, with the destination's permissions", async () => {
    const dest = await userDest("replace");
    await install(dest, { "new.txt": "new" }, { mode: "replace" });
    assert.deepEqual(await listing(dest), ["new.txt: new"]);
    assert.equal(await readFile(join(base, "replace/outside.txt"), "utf8"), "outside");
  });

  test("replace never removes a kept directory or one that holds it", async () => {
    const dest = await userDest("kept");
    const kept: KeptPath[] = [{ path: join(dest, "sub"), what: "the working directory" }];
    await assert.rejects(
      install(dest, { "new.txt": "new" }, { mode: "replace", keep: kept }),
      usage(/refusing to remove .*\/out: it holds the working directory .*\/out\/sub$/),
    );
    await assert.rejects(
      install(join(dest, "sub"), {}, { mode: "replace", keep: kept }),
      usage(/refusing to remove .*\/out\/sub: it is the working directory$/),
    );
    assert.deepEqual(await listing(dest), userFiles);
  });

  test("a merge that fails part way puts back what it moved", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("needs root: the failure comes from a read-only mount inside the destination");
      return;
    }
    const dest = await userDest("rollback");
    // "zz" is a read-only file system: the merge gets through "a.txt" and "same.txt", then fails.
    await mkdir(join(dest, "zz"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", join(dest, "zz")]);
    try {
      await assert.rejects(
        install(dest, { "a.txt": "new", "same.txt": "new", "zz/": "", "zz/x": "x" }),
        usage(/cannot put the export in place: read-only file system/),
      );
    } finally {
      execFileSync("umount", [join(dest, "zz")]);
    }
    assert.deepEqual(await listing(dest), [...userFiles, "zz/"]);
    assert.deepEqual((await readdir(join(base, "rollback"))).sort(), ["out", "outside.txt"]);
  });

  test("two exports into a destination that did not exist both land in it", async (t) => {
    // One stream per platform, each found the destination missing before either was in place.
    const dest = join(base, "new-multi", "out");
    const target = await prepareDestination(dest);
    const amd = await stageBeside(target, dest);
    const arm = await stageBeside(target, dest);
    try {
      await mkdir(join(amd.tree, "linux_amd64"));
      await writeFile(join(amd.tree, "linux_amd64", "app"), "amd64");
      await mkdir(join(arm.tree, "linux_arm64"));
      await writeFile(join(arm.tree, "linux_arm64", "app"), "arm64");
      const results = await Promise.allSettled(
        [amd, arm].map((staging) =>
          installTree(staging, target, {
            dirs: new Map([
              ["linux_amd64", DIR_META],
              ["linux_arm64", DIR_META],
            ]),
          }),
        ),
      );
      for (const r of results) if (r.status === "rejected") t.diagnostic(String(r.reason));
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "fulfilled"],
      );
      assert.equal(await readFile(join(dest, "linux_amd64", "app"), "utf8"), "amd64");
      assert.equal(await readFile(join(dest, "linux_arm64", "app"), "utf8"), "arm64");
    } finally {
      await discardStaging(amd);
      await discardStaging(arm);
    }
  });

  test("merges into one destination run one after the other", async () => {
    // Two exports into one place (a multi-platform export sends one stream per platform):
    // interleaved, both checks passed on the empty destination, then the second merge set the
    // first one's new directory aside (deleted with its staging) for a symlink, and both
    // reported success. Whether they interleave depends on the thread pool, so many rounds.
    const outside = join(base, "concurrent-outside");
    await mkdir(outside);
    for (let round = 0; round < 40; round++) {
      const dest = join(base, "concurrent", String(round));
      await mkdir(dest, { recursive: true });
      const target = await prepareDestination(dest);
      const withDir = await stageBeside(target, dest);
      const withLink = await stageBeside(target, dest);
      try {
        await mkdir(join(withDir.tree, "d"));
        await writeFile(join(withDir.tree, "d", "x"), "from the first export");
        await symlink(outside, join(withLink.tree, "d"));
        const installs = [
          () => installTree(withDir, target, { dirs: new Map([["d", DIR_META]]) }),
          () => installTree(withLink, target, {}),
        ];
        if (round % 2 === 1) installs.reverse();
        await Promise.allSettled(installs.map((install) => install()));
        // Either order ends with the directory export's files in place and nothing outside.
        assert.ok((await lstat(join(dest, "d"))).isDirectory(), `round ${round}: d is a symlink`);
        assert.equal(await readFile(join(dest, "d", "x"), "utf8"), "from the first export");
        assert.deepEqual(await readdir(outside), []);
      } finally {
        await discardStaging(withDir);
        await discardStaging(withLink);
      }
    }
  });

  test("keptWithin: a kept path, any directory holding one, and / are kept", () => {
    const keep: KeptPath[] = [{ path: "/home/u/proj", what: "the stack's directory" }];
    assert.equal(keptWithin("/", keep)?.path, "/");
    assert.equal(keptWithin("/home", keep)?.path, "/home/u/proj");
    assert.equal(keptWithin("/home/u/proj", keep)?.path, "/home/u/proj");
    assert.equal(keptWithin("/home/u/proj/dist", keep), undefined);
    assert.equal(keptWithin("/home/u/proj-old", keep), undefined);
    assert.equal(keptWithin("/home/u/..proj", keep), undefined);
  });
});
