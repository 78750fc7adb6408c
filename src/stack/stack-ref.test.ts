import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackRef, splitNpmSpec } from "./stack-ref.js";

describe("parseStackRef", () => {
  test("names of the catalogue, with and without a version", () => {
    assert.deepEqual(parseStackRef("hello"), { kind: "catalogue", name: "hello" });
    assert.deepEqual(parseStackRef("hello@0.1.0"), {
      kind: "catalogue",
      name: "hello",
      version: "0.1.0",
    });
  });

  test("npm packages, scoped or not, with a range or not", () => {
    assert.deepEqual(parseStackRef("npm:@acme/shop@^1.2"), {
      kind: "npm",
      spec: "@acme/shop@^1.2",
    });
    assert.deepEqual(parseStackRef("npm:@acme/shop"), { kind: "npm", spec: "@acme/shop" });
    assert.deepEqual(parseStackRef("npm:shop@1.0.0"), { kind: "npm", spec: "shop@1.0.0" });
    assert.deepEqual(splitNpmSpec("@acme/shop@^1.2"), { name: "@acme/shop", range: "^1.2" });
    assert.deepEqual(splitNpmSpec("shop"), { name: "shop" });
  });

  test("paths", () => {
    for (const p of ["./x", "../x", ".", "/abs/x", "~/x", "a/b", "x/stack.ts"])
      assert.deepEqual(parseStackRef(p), { kind: "directory", path: p });
    assert.deepEqual(parseStackRef("hello", "--dir"), { kind: "directory", path: "hello" });
    assert.deepEqual(parseStackRef("npm:x", "--dir"), { kind: "directory", path: "npm:x" });
  });

  test("anything else is a one-line usage error naming the flag", () => {
    for (const bad of ["Hello", "hello@", "he llo", "npm:", "npm:Bad Name", "a@b@c", ""]) {
      assert.throws(
        () => parseStackRef(bad),
        (e: Error & { code?: string }) =>
          e.code === "E_USAGE" && e.message.startsWith("-s") && !e.message.includes("\n"),
        bad,
      );
    }
  });

  test("a value with = says that inputs are set with --set", () => {
    assert.throws(
      () => parseStackRef("greeting=hi"),
      /-s greeting=hi: -s names the stack; set inputs with --set/,
    );
    assert.throws(() => parseStackRef("path=./x"), /--set/);
  });
});
