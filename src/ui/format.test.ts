import assert from "node:assert/strict";
import { test } from "node:test";
import { sanitizeLine, truncate } from "./ansi.js";
import { formatBytes, formatDuration, formatLogOffset } from "./format.js";

test("formatDuration", () => {
  assert.equal(formatDuration(0), "0.0s");
  assert.equal(formatDuration(-5), "0.0s");
  assert.equal(formatDuration(Number.NaN), "0.0s");
  assert.equal(formatDuration(420), "0.4s");
  assert.equal(formatDuration(12_345), "12.3s");
  assert.equal(formatDuration(59_960), "1m00s");
  assert.equal(formatDuration(65_000), "1m05s");
  assert.equal(formatDuration(3_600_000 + 2 * 60_000), "1h02m");
});

test("formatBytes follows tonistiigi/units %.2f", () => {
  assert.equal(formatBytes(0), "0B");
  assert.equal(formatBytes(999), "999B");
  assert.equal(formatBytes(1234), "1.23kB");
  assert.equal(formatBytes(1_200_000), "1.20MB");
  assert.equal(formatBytes(3.4e9), "3.40GB");
});

test("formatLogOffset precision", () => {
  assert.equal(formatLogOffset(123), "0.123");
  assert.equal(formatLogOffset(12_345), "12.35");
  assert.equal(formatLogOffset(123_456), "123.5");
});

test("sanitizeLine strips escapes and controls; truncate counts code points", () => {
  assert.equal(sanitizeLine("\u001b[31mred\u001b[0m\tx\u0007"), "red x");
  assert.equal(sanitizeLine("\u001b]0;title\u0007ok"), "ok");
  assert.equal(truncate("héllo", 3), "hél");
  assert.equal(truncate("ab", 5), "ab");
  assert.equal(truncate("ab", 0), "");
});
