import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { settlesWithin } from "../test/helpers/hang-guard.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { makeDirectories, makeDirectoriesSync } from "./make-directories.js";

describe("makeDirectories", () => {
  it("makes the missing levels and returns the outermost one it made", async () => {
    const root = tempDir("hln-mkdirs-");
    assert.equal(await makeDirectories(join(root, "a", "b", "c")), join(root, "a"));
    assert.ok(existsSync(join(root, "a", "b", "c")));
    assert.equal(await makeDirectories(join(root, "a", "b")), undefined);
    assert.equal(makeDirectoriesSync(join(root, "x", "y")), join(root, "x"));
    assert.equal(makeDirectoriesSync(join(root, "x")), undefined);
  });

  it("fails at once under /proc, where Node's own mkdir -p never settles", async () => {
    const sync = () => makeDirectoriesSync("/proc/hln-nope/x");
    assert.throws(sync, (e: NodeJS.ErrnoException) => e.code === "ENOENT");
    await settlesWithin(
      "makeDirectories under /proc",
      assert.rejects(makeDirectories("/proc/hln-nope/x"), { code: "ENOENT" }),
    );
  });

  it("refuses a file where a directory should be, as mkdir -p does", async () => {
    const root = tempDir("hln-mkdirs-");
    writeFileSync(join(root, "file"), "");
    await assert.rejects(makeDirectories(join(root, "file")), { code: "ENOTDIR" });
    await assert.rejects(makeDirectories(join(root, "file", "x")), { code: "ENOTDIR" });
  });

  it("removes what it made when a deeper level fails", () => {
    const root = tempDir("hln-mkdirs-");
    writeFileSync(join(root, "file"), "");
    // A file where a directory should be, as mkdir -p says it.
    assert.throws(() => makeDirectoriesSync(join(root, "file", "x")), { code: "ENOTDIR" });
    assert.throws(() => makeDirectoriesSync(join(root, "file")), { code: "ENOTDIR" });
    assert.throws(() => makeDirectoriesSync(join(root, "new", "file\0bad")));
    assert.ok(!existsSync(join(root, "new")), "the level it made is gone");
  });
});
