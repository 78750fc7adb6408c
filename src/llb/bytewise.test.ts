import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { compareBytewise, isIntegerLikeKey, sortRecordBytewise } from "./bytewise.js";

describe("compareBytewise", () => {
  it("orders ASCII like plain comparison", () => {
    assert.deepEqual(["b", "a", "B", "ab", ""].sort(compareBytewise), ["", "B", "a", "ab", "b"]);
  });

  it("orders by UTF-8 bytes where UTF-16 order differs", () => {
    // U+FF5E is EF BD 9E in UTF-8 and U+1F600 is F0 9F 98 80, but in UTF-16 the emoji's
    // lead surrogate (D83D) sorts before FF5E.
    assert.ok("\u{1F600}" < "\uFF5E");
    assert.ok(compareBytewise("\uFF5E", "\u{1F600}") < 0);
  });
});

describe("isIntegerLikeKey", () => {
  it("flags canonical array indices only", () => {
    for (const k of ["0", "10", "4294967294"]) assert.equal(isIntegerLikeKey(k), true, k);
    for (const k of ["01", "-1", "1.5", "4294967295", "a1", ""]) {
      assert.equal(isIntegerLikeKey(k), false, k);
    }
  });
});

describe("sortRecordBytewise", () => {
  it("re-inserts keys in bytewise order", () => {
    const sorted = sortRecordBytewise({ z: 1, é: 2, a: 3 }, "t");
    assert.deepEqual(Object.keys(sorted), ["a", "z", "é"]);
  });

  it("rejects integer-like keys with E_INTERNAL", () => {
    assert.throws(
      () => sortRecordBytewise({ b: 1, "7": 2 }, "SourceOp.attrs"),
      (err: unknown) =>
        err instanceof HlnError &&
        err.code === "E_INTERNAL" &&
        /SourceOp\.attrs.*"7"/.test(err.message),
    );
  });
});
