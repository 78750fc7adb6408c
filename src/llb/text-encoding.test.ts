import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import "./marshal.js";
import { encodeUtf8 } from "./text-encoding.js";

const samples = [
  "",
  "sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7",
  "é€😀",
  "lone \uD800 high",
  "lone \uDC00 low",
  "\uD83D",
  "pair \uD83D\uDE00 and \uFFFF",
  "x".repeat(100_000),
];

describe("encodeUtf8", () => {
  it("writes the bytes TextEncoder writes, lone surrogates as U+FFFD", () => {
    const encoder = new TextEncoder();
    for (const s of samples)
      assert.deepEqual(Buffer.from(encodeUtf8(s)), Buffer.from(encoder.encode(s)), s.slice(0, 20));
  });

  it("is what protobuf-es encodes strings with once marshal.ts is loaded", () => {
    assert.equal(getTextEncoding().encodeUtf8, encodeUtf8);
  });
});
