import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { goRegexpToJs } from "./go-regexp.js";

describe("goRegexpToJs", () => {
  test("Go regexps translate to JS with Go's meaning", () => {
    assert.equal(new RegExp(goRegexpToJs("^a.b$"), "u").test("a\rb"), true);
    assert.equal(new RegExp(goRegexpToJs("^a.b$"), "u").test("a\nb"), false);
    assert.equal(new RegExp(goRegexpToJs("^\\d$"), "u").test("٣"), false);
    assert.equal(new RegExp(goRegexpToJs("^[\\s]$"), "u").test("\u00a0"), false);
    assert.throws(() => goRegexpToJs("^\\y$"));
  });
});
