import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { absolutePath, cleanPath } from "./go-path.js";

describe("cleanPath (Go path.Clean)", () => {
  const cases: Array<[string, string]> = [
    ["", "."],
    [".", "."],
    ["/", "/"],
    ["//a//b/", "/a/b"],
    ["a/./b/", "a/b"],
    ["a/../..", ".."],
    ["../a/../b", "../b"],
    ["/../a", "/a"],
    ["/a/b/../../..", "/"],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} => ${want}`, () => assert.equal(cleanPath(input), want));
  }
});

describe("absolutePath (fileop.go normalizePath against /)", () => {
  const cases: Array<[string, boolean, string]> = [
    ["a/b", false, "/a/b"],
    ["../x", false, "/x"],
    ["/dest/", false, "/dest"],
    ["/dest/", true, "/dest/"],
    ["dest/.", true, "/dest/."],
    ["/.", true, "/."],
    ["/", true, "/"],
    [".", false, "/"],
  ];
  for (const [input, keep, want] of cases) {
    it(`${JSON.stringify(input)} keepSlash=${keep} => ${want}`, () => {
      assert.equal(absolutePath(input, keep), want);
    });
  }
});
