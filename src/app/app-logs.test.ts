import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareTimes, timeKey } from "./app-logs.js";

describe("log times", () => {
  it("orders RFC3339Nano times whose fractions lost their trailing zeros", () => {
    // As text, "…04.1234Z" sorts after "…04.123456789Z" although it is earlier.
    assert.equal(compareTimes("2026-12-02T00:00:04.1234Z", "2026-12-02T00:00:04.123456789Z"), -1);
    assert.equal(compareTimes("2026-12-02T00:00:04Z", "2026-12-02T00:00:04.000000001Z"), -1);
    assert.equal(compareTimes("2026-12-02T00:00:04.5Z", "2026-12-02T00:00:04.500000000Z"), 0);
    assert.equal(timeKey("2026-12-02T01:00:00.5+01:00"), "2026-12-02T00:00:00.500000000Z");
  });
});
