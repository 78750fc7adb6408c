import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OrderValidator } from "./receive-validator.js";

describe("OrderValidator", () => {
  test("the order validator accepts fsutil's order and nothing else", () => {
    const v = new OrderValidator();
    for (const [p, dir] of [
      ["B", false],
      ["a", true],
      ["a/b", true],
      ["a/b/c", false],
      ["a/c", false],
      ["a.txt", false],
      ["b", false],
      ["é", false],
      ["\uE000", false],
      ["😀", false],
    ] as const) {
      v.check(p, dir);
    }
    assert.throws(() => v.check("a/d", false), /out of order/);
  });
});
