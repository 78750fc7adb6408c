import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseValues, readValuesFile } from "./values-file.js";

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

  it("refuses an alias bomb in a moment instead of expanding it for minutes", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [..."bcdefgh"].map((c, i) => [c, "abcdefg"[i]]))
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    assert.throws(() => parseValues(`${levels.join("\n")}\nname: *h\n`, "v.yaml"), {
      code: "E_INPUT_INVALID",
      message: /^v\.yaml:\d+:\d+: more than 10000 values once aliases are expanded$/,
    });
  });

  it("names an alias inside its own anchor, and nesting too deep to be an input", () => {
    assert.throws(() => parseValues("name: &a [1, *a]\n", "v.yaml"), {
      message: "v.yaml:1:14: alias *a refers to itself",
    });
    assert.throws(() => parseValues(`name: ${"[".repeat(100)}${"]".repeat(100)}\n`, "v.yaml"), {
      code: "E_INPUT_INVALID",
      message: /^v\.yaml:1:\d+: nested more than 64 levels deep$/,
    });
  });
});

describe("readValuesFile", () => {
  it("refuses bytes that are not UTF-8 rather than reading them as U+FFFD", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hln-values-file-"));
    try {
      writeFileSync(join(dir, "v.yaml"), Buffer.from([0x6e, 0x3a, 0x20, 0xff, 0xc3, 0x28, 0x0a]));
      await assert.rejects(readValuesFile("v.yaml", { cwd: dir }), {
        code: "E_INPUT_INVALID",
        message: "v.yaml: not UTF-8 text (a values file is YAML)",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
