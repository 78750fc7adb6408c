import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkedIgnoreFile, checkPatterns } from "./ignore-file.js";

describe("checkedIgnoreFile", () => {
  it("returns the patterns of a good file", () => {
    assert.deepEqual(checkedIgnoreFile("/c/.dockerignore", "# x\nnode_modules\n!keep\n"), [
      "node_modules",
      "!keep",
    ]);
  });

  it("names the file and the line of a bad pattern", () => {
    assert.throws(() => checkedIgnoreFile("/c/.dockerignore", "ok\r\n# [\n\n  [\nfine\n"), {
      code: "E_INPUT_INVALID",
      message: '/c/.dockerignore:4: syntax error in pattern "["',
    });
    assert.throws(() => checkedIgnoreFile("/c/.hlnignore", "a\n!\n"), {
      message: '/c/.hlnignore:2: illegal exclusion pattern: "!"',
    });
  });
});

describe("checkPatterns", () => {
  it("names the option and the index of a bad pattern", () => {
    checkPatterns("host directory .", "exclude", ["a", "b/**"]);
    assert.throws(() => checkPatterns("host directory .", "exclude", ["a", "x\\"]), {
      code: "E_INPUT_INVALID",
      message: /^host directory \.: exclude\[1\]: syntax error in pattern/,
    });
  });
});
