import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { normalizeImageRef, parseImageRef } from "./image-ref.js";

const D = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

describe("normalizeImageRef", () => {
  const cases: Array<[string, string]> = [
    ["alpine", "docker.io/library/alpine:latest"],
    ["alpine:3.20", "docker.io/library/alpine:3.20"],
    ["user/app:1", "docker.io/user/app:1"],
    ["docker.io/alpine", "docker.io/library/alpine:latest"],
    ["index.docker.io/library/alpine", "docker.io/library/alpine:latest"],
    ["localhost/x", "localhost/x:latest"],
    ["localhost:5000/x", "localhost:5000/x:latest"],
    ["127.0.0.1:5000/team/x:dev", "127.0.0.1:5000/team/x:dev"],
    ["[::1]:5000/x", "[::1]:5000/x:latest"],
    ["ghcr.io/a/b", "ghcr.io/a/b:latest"],
    [`ghcr.io/a/b@${D}`, `ghcr.io/a/b@${D}`],
    [`ghcr.io/a/b:v1@${D}`, `ghcr.io/a/b:v1@${D}`],
    [`alpine@${D}`, `docker.io/library/alpine@${D}`],
    ["Registry.Example/x", "Registry.Example/x:latest"],
    ["a/b/c/d-e__f.g:T_1.x-y", "docker.io/a/b/c/d-e__f.g:T_1.x-y"],
  ];
  for (const [input, want] of cases) {
    it(`${input} => ${want}`, () => assert.equal(normalizeImageRef(input), want));
  }

  it("is idempotent", () => {
    for (const [, want] of cases) assert.equal(normalizeImageRef(want), want);
  });
});

describe("parseImageRef", () => {
  it("splits domain, path, tag and digest", () => {
    assert.deepEqual(parseImageRef(`localhost:5000/x/y:t@${D}`), {
      domain: "localhost:5000",
      path: "x/y",
      tag: "t",
      digest: D,
    });
  });
});

describe("normalizeImageRef errors", () => {
  const bad: Array<[string, RegExp]> = [
    ["", /at least one component/],
    ["Alpine", /must be lowercase/],
    ["user/App", /must be lowercase/],
    ["a".repeat(64).replace(/a/g, "f"), /hexadecimal/],
    ["alpine:", /invalid reference format/],
    ["alpine:-tag", /invalid reference format/],
    ["a//b", /invalid reference format/],
    ["a b", /invalid reference format/],
    ["alpine@sha256:abc", /invalid reference format/],
    [`alpine@md5:${"0".repeat(32)}`, /unsupported digest algorithm/],
    [`alpine@sha256:${"A".repeat(64)}`, /lower-case/],
    [`alpine@sha256:${"0".repeat(63)}0a`, /length/],
    [`x/${"a".repeat(300)}`, /255 characters/],
    [`alpine:${"t".repeat(129)}`, /invalid reference format/],
  ];
  for (const [input, reason] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.throws(
        () => normalizeImageRef(input),
        (e: unknown) =>
          e instanceof HlnError &&
          e.code === "E_INPUT_INVALID" &&
          e.message.includes(JSON.stringify(input)) &&
          reason.test(e.message),
      );
    });
  }
});
