import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../test/helpers/temp-dir.js";
import { replaceFile } from "./replace-file.js";

describe("replaceFile", () => {
  it("replaces a file whole, with the mode asked for, leaving no temporary file", async () => {
    const dir = tempDir("hln-replace-");
    const path = join(dir, "index.json");
    writeFileSync(path, "old");
    await replaceFile(path, "new\n", { mode: 0o600 });
    assert.equal(readFileSync(path, "utf8"), "new\n");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["index.json"]);
  });

  it("keeps the old file and removes its temporary one when cancelled", async () => {
    const dir = tempDir("hln-replace-");
    const path = join(dir, "index.json");
    writeFileSync(path, "old");
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(replaceFile(path, "new", { signal: ac.signal }));
    assert.equal(readFileSync(path, "utf8"), "old");
    assert.deepEqual(readdirSync(dir), ["index.json"]);
  });
});
