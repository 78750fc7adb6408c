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

  it("agrees with comparing TextEncoder bytes, lone surrogates and prefixes included", () => {
    const encoder = new TextEncoder();
    const byBytes = (a: string, b: string) => Buffer.compare(encoder.encode(a), encoder.encode(b));
    // Units from each range whose UTF-8 order differs from UTF-16 order, so every pair of
    // kinds meets at a first difference and at the end of a prefix.
    const units = [0x41, 0x7a, 0xe9, 0x800, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff];
    let seed = 11;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const word = () =>
      String.fromCharCode(
        ...Array.from({ length: next() % 5 }, () => units[next() % units.length]!),
      );
    for (let i = 0; i < 20_000; i++) {
      const a = word();
      const b = next() % 3 === 0 ? a + word() : word();
      assert.equal(Math.sign(compareBytewise(a, b)), byBytes(a, b), JSON.stringify([a, b]));
      assert.equal(Math.sign(compareBytewise(b, a)), byBytes(b, a), JSON.stringify([b, a]));
    }
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
