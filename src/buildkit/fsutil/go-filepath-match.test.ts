import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HlnError } from "../../errors.js";
import { matchGlob } from "./go-filepath-match.js";

describe("matchGlob", () => {
  test("matchGlob is Go's filepath.Match", () => {
    assert.equal(matchGlob("Dockerfile*", "Dockerfile.dev"), true);
    assert.equal(matchGlob("*", "a/b"), false);
    assert.equal(matchGlob("[!a]", "!"), true);
    assert.throws(() => matchGlob("a[", "b"), HlnError);
  });
});
