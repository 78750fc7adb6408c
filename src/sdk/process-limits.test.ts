import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { assertProcessString } from "./process-limits.js";

describe("strings a process can receive", () => {
  it("takes up to 131072 bytes with the NUL, counted in UTF-8", () => {
    assertProcessString("withExec", "argument 1", "x".repeat(131_071));
    assert.throws(
      () => assertProcessString("withExec", "argument 1", "x".repeat(131_072)),
      (e: unknown) =>
        e instanceof HlnError &&
        e.code === "E_USAGE" &&
        e.message ===
          "withExec: argument 1 is 131073 bytes; Linux passes at most 131072 bytes per argument or variable to a process",
    );
    // 65,536 two-byte characters are 131,072 bytes before the NUL.
    assert.throws(() => assertProcessString("x", "y", "é".repeat(65_536)), HlnError);
  });

  it("refuses a NUL byte, naming the call and the argument", () => {
    assert.throws(() => assertProcessString('withEnvVariable("A")', "the variable", "A=a\0b"), {
      code: "E_USAGE",
      message:
        'withEnvVariable("A"): the variable contains a NUL byte, which no process can receive',
    });
  });
});
