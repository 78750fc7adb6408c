import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSince, parseTail } from "./logs.js";

describe("hln logs flags", () => {
  const now = Date.parse("2026-12-02T10:00:00Z");

  it("reads --since as a duration back from now, a time, or Unix seconds", () => {
    assert.equal(parseSince("10m", now), now / 1000 - 600);
    assert.equal(parseSince("2026-12-02T09:00:00Z", now), now / 1000 - 3600);
    assert.equal(parseSince("1796212800", now), 1796212800);
    for (const bad of ["yesterday", "-1m", "2026-12-02T09", "May 1"])
      assert.throws(() => parseSince(bad, now), /^HlnError: --since /, bad);
  });

  it("reads --tail as a count of lines or all", () => {
    assert.equal(parseTail("0"), 0);
    assert.equal(parseTail("all"), undefined);
    assert.throws(() => parseTail("-3"), /--tail -3: expected a number of lines, or all/);
  });
});
