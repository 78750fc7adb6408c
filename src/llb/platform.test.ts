import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { formatPlatform, normalizePlatform, parsePlatform, toPbPlatform } from "./platform.js";

describe("parsePlatform", () => {
  const cases: Array<[string, string]> = [
    ["linux/amd64", "linux/amd64"],
    ["linux/arm/v7", "linux/arm/v7"],
    ["linux/arm", "linux/arm/v7"],
    ["linux/armhf", "linux/arm/v7"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/arm/6", "linux/arm/v6"],
    ["linux/arm64/v8", "linux/arm64"],
    ["linux/aarch64", "linux/arm64"],
    ["linux/arm64/9", "linux/arm64/v9"],
    ["Linux/X86_64", "linux/amd64"],
    ["linux/amd64/v1", "linux/amd64"],
    ["linux/amd64/v3", "linux/amd64/v3"],
    ["linux/i386", "linux/386"],
    ["macos/arm64", "darwin/arm64"],
    ["windows/amd64", "windows/amd64"],
  ];
  for (const [input, want] of cases) {
    it(`${input} => ${want}`, () => assert.equal(formatPlatform(parsePlatform(input)), want));
  }

  it("returns structured fields without an empty variant", () => {
    assert.deepEqual(parsePlatform("linux/amd64"), { os: "linux", architecture: "amd64" });
    assert.deepEqual(parsePlatform("linux/arm/v7"), {
      os: "linux",
      architecture: "arm",
      variant: "v7",
    });
  });

  for (const bad of ["", "linux", "linux/", "linux/amd64/v1/x", "linux/*", "linux/am d64"]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parsePlatform(bad),
        (e: unknown) =>
          e instanceof HlnError &&
          e.code === "E_INPUT_INVALID" &&
          e.message.includes(JSON.stringify(bad)),
      );
    });
  }
});

describe("normalizePlatform", () => {
  it("sorts and de-duplicates os features, keeps os version", () => {
    assert.deepEqual(
      normalizePlatform({
        os: "windows",
        architecture: "amd64",
        osVersion: "10.0.17763.1",
        osFeatures: ["win32k", "a", "win32k"],
      }),
      {
        os: "windows",
        architecture: "amd64",
        osVersion: "10.0.17763.1",
        osFeatures: ["a", "win32k"],
      },
    );
  });
});

describe("toPbPlatform", () => {
  it("maps to the generated message", () => {
    const pb = toPbPlatform({ os: "linux", architecture: "arm", variant: "v7" });
    assert.equal(pb.os, "linux");
    assert.equal(pb.architecture, "arm");
    assert.equal(pb.variant, "v7");
    assert.equal(pb.osVersion, "");
    assert.deepEqual(pb.osFeatures, []);
  });
});
