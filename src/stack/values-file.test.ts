import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseValues } from "./values-file.js";

describe("parseValues", () => {
  it("keeps each value's place, follows aliases, and keeps plain scalars as written", () => {
    const entries = parseValues("base: &b 1.10\ncopy: *b\nlist:\n  - x\n  - 'y'\n", "v.yaml");
    assert.deepEqual(
      entries.map((e) => [e.key, e.keyAt.line, e.value.line, e.value.column]),
      [
        ["base", 1, 1, 10],
        ["copy", 2, 2, 7],
        ["list", 3, 4, 3],
      ],
    );
    const [base, copy, list] = entries;
    assert.deepEqual(
      [base?.value.kind, base?.value.kind === "scalar" && base.value.text],
      ["scalar", "1.10"],
    );
    assert.equal(copy?.value.kind === "scalar" && copy.value.value, 1.1);
    assert.equal(list?.value.kind === "list" && list.value.items.length, 2);
  });

  it("names an alias without an anchor", () => {
    assert.throws(() => parseValues("a: *nope\n", "v.yaml"), {
      message: "v.yaml:1:4: alias *nope names no anchor",
    });
  });
});
