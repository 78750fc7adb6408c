/**
 * Golden fixtures: every case in testdata/golden-cases.ts must still produce the recorded
 * bytes, digests and metadata. The alpine case is the wire doc's independent vector; the others
 * guard against unintended wire changes (regenerate with testdata/regenerate.ts).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { computeGolden, type GoldenFixture } from "./testdata/golden.js";
import { goldenCases } from "./testdata/golden-cases.js";

const fixture = (name: string): GoldenFixture =>
  JSON.parse(readFileSync(new URL(`./testdata/golden/${name}.json`, import.meta.url), "utf8"));

describe("golden LLB fixtures", () => {
  for (const [name, c] of Object.entries(goldenCases)) {
    it(name, () => assert.deepEqual(computeGolden(c), fixture(name)));
  }

  it("image-alpine holds the wire doc's digests", () => {
    const f = fixture("image-alpine");
    assert.ok("def" in f);
    assert.deepEqual(
      f.def.map((op) => op.digest),
      [
        "sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7",
        "sha256:cc5fb5962a26ee8ff47e71e02a862b4feca95de4bf8cfa231ec64fa122d6c971",
      ],
    );
  });

  it("map-integer-key-rejected records E_INTERNAL", () => {
    const f = fixture("map-integer-key-rejected");
    assert.ok("error" in f);
    assert.equal(f.error.code, "E_INTERNAL");
  });

  it("fixtures show the byte patterns they exist for", () => {
    const hexOf = (name: string, i: number) => {
      const f = fixture(name);
      assert.ok("def" in f);
      return f.def[i]!.hex;
    };
    // ChownOpt{user: {byId: 0}, group: {byId: 0}} = 22 08 0a 02 10 00 12 02 10 00
    assert.ok(hexOf("file-mkfile-owner-root", 1).includes("22080a0210001202100"));
    // validExitCodes [0, 1, 255, -1] packed: 62 0e 00 01 ff 01 ff..ff 01
    assert.ok(hexOf("exec-valid-exit-codes", 1).includes("620e0001ff01ffffffffffffffffff01"));
    // Unsized tmpfs keeps an empty TmpfsOpt: 9a 01 00
    assert.ok(hexOf("exec-unsized-tmpfs-scratch-root", 0).includes("9a0100"));
    // Copy: mode -1 (20 ff..01) and timestamp -1 (58 ff..01)
    const copy = hexOf("file-copy-defaults", 1);
    assert.ok(copy.includes("20ffffffffffffffffff01"));
    assert.ok(copy.includes("58ffffffffffffffffff01"));
  });
});
