import assert from "node:assert/strict";
import { test } from "node:test";
import { createLineSplitter, visibleSegment } from "./log-lines.js";

const enc = new TextEncoder();

test("lines complete across chunk boundaries", () => {
  const s = createLineSplitter();
  assert.deepEqual(s.push(enc.encode("a")), []);
  assert.deepEqual(s.push(enc.encode("b\nc")), ["ab"]);
  assert.equal(s.partial, "c");
  assert.deepEqual(s.push(enc.encode("\n\nd\n")), ["c", "", "d"]);
  assert.equal(s.partial, "");
  assert.deepEqual(s.flush(), []);
});

test("CRLF endings lose the CR, even when the LF comes in the next chunk", () => {
  const s = createLineSplitter();
  assert.deepEqual(s.push(enc.encode("x\r")), []);
  assert.deepEqual(s.push(enc.encode("\ny\r\n")), ["x", "y"]);
});

test("a UTF-8 sequence split across chunks decodes once whole", () => {
  const s = createLineSplitter();
  const bytes = enc.encode("€\n");
  assert.deepEqual(s.push(bytes.slice(0, 1)), []);
  assert.deepEqual(s.push(bytes.slice(1, 2)), []);
  assert.deepEqual(s.push(bytes.slice(2)), ["€"]);
});

test("flush returns the unterminated line", () => {
  const s = createLineSplitter();
  s.push(enc.encode("done\nhalf"));
  assert.deepEqual(s.flush(), ["half"]);
  assert.deepEqual(s.flush(), []);
});

test("visibleSegment shows what a terminal shows after carriage returns", () => {
  assert.equal(visibleSegment(" 10%\r 50%\r100%", true), "100%");
  assert.equal(visibleSegment(" 10%\r 50%\r10", false), " 50%");
  assert.equal(visibleSegment("abc\r", true), "abc");
  assert.equal(visibleSegment("partial", false), "");
});
