import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cut, formatTable, oneLine, wrap } from "./text-table.js";

describe("text-table", () => {
  it("wraps between words, and cuts a word longer than the line", () => {
    assert.deepEqual(wrap("one two three", 7), ["one two", "three"]);
    assert.deepEqual(wrap("abcdefghij k", 4), ["abcd", "efgh", "ij k"]);
    assert.deepEqual(wrap("", 10), [""]);
  });

  it("cuts with an ellipsis, and makes a cell one safe line", () => {
    assert.equal(cut("abcdef", 4), "abc…");
    assert.equal(cut("abc", 4), "abc");
    assert.equal(oneLine(" a\n\tb \u001b[31m "), "a b \ufffd[31m");
  });

  it("pads columns, cuts them at their max, and wraps the last into the width", () => {
    const t = formatTable(
      [{ header: "NAME", max: 6 }, { header: "DESCRIPTION" }],
      [
        ["a-very-long-name", "short"],
        ["b", "words that do not fit in twenty columns"],
      ],
      { width: 28 },
    );
    assert.equal(
      t,
      `NAME    DESCRIPTION
a-ver…  short
b       words that do not
        fit in twenty
        columns
`,
    );
  });
});
