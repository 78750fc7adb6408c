import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertWritableDir, parseCacheSpec, resolveCache } from "./cache-spec.js";
import type { Stack } from "./define-stack.js";

describe("parseCacheSpec", () => {
  it("reads buildx's syntax", () => {
    assert.deepEqual(
      parseCacheSpec("export", "--cache-to", "type=registry,ref=r.io/app:cache,mode=max"),
      { type: "registry", attrs: { ref: "r.io/app:cache", mode: "max" } },
    );
    assert.deepEqual(parseCacheSpec("import", "--cache-from", "r.io/app:cache"), {
      type: "registry",
      attrs: { ref: "r.io/app:cache" },
    });
    assert.deepEqual(parseCacheSpec("export", "--cache-to", "type=inline"), {
      type: "inline",
      attrs: {},
    });
    assert.deepEqual(parseCacheSpec("import", "--cache-from", "type=local,src=c"), {
      type: "local",
      attrs: { src: "c" },
    });
  });
  it("names the flag or field on bad input", () => {
    assert.throws(() => parseCacheSpec("export", "--cache-to", "ref=x"), {
      message: "--cache-to ref=x: type= is missing (registry, inline, local)",
    });
    assert.throws(
      () => parseCacheSpec("export", "--cache-to", "type=registry"),
      /ref= is required/,
    );
    assert.throws(
      () => parseCacheSpec("import", "--cache-from", "type=registry,oops"),
      /expected key=value pairs/,
    );
    assert.throws(() => parseCacheSpec("export", "stack.ts: cache.to[0]", "type=s3,bucket=b"), {
      message:
        'stack.ts: cache.to[0] type=s3,bucket=b: unknown cache type "s3" (registry, inline, local)',
    });
    assert.throws(
      () => parseCacheSpec("import", "--cache-from", "type=inline"),
      /imported from its image/,
    );
    assert.throws(
      () => parseCacheSpec("export", "--cache-to", "type=local,src=x"),
      /dest= is required for type=local/,
    );
    assert.throws(
      () => parseCacheSpec("import", "--cache-from", "type=local,dest=x"),
      /src= is required for type=local/,
    );
  });

  it("refuses what the engine would refuse only after the build", () => {
    for (const [flag, value, message] of [
      ["--cache-to", "", '--cache-to "": expected a registry ref or type=...,key=value'],
      ["--cache-from", " ", '--cache-from " ": expected a registry ref'],
      ["--cache-to", "Upper/App", '--cache-to Upper/App: invalid image reference "Upper/App"'],
      [
        "--cache-to",
        "type=registry,ref=a b",
        "--cache-to type=registry,ref=a b: invalid image reference",
      ],
      [
        "--cache-to",
        "type=registry,ref=r/a,mode=all",
        "--cache-to type=registry,ref=r/a,mode=all: mode=all: expected min or max",
      ],
    ] as const)
      assert.throws(
        () => parseCacheSpec(flag === "--cache-to" ? "export" : "import", flag, value),
        (e: Error) => {
          assert.equal((e as { code?: string }).code, "E_USAGE");
          assert.ok(e.message.startsWith(message), e.message);
          return true;
        },
      );
  });
});

describe("assertWritableDir", () => {
  it("accepts a directory that can be made, and leaves nothing behind", () => {
    const tmp = mkdtempSync(join(tmpdir(), "hln-cache-dest-"));
    try {
      assertWritableDir("x", join(tmp, "a", "b"));
      assert.deepEqual(readdirSync(tmp), []);
      writeFileSync(join(tmp, "file"), "");
      assert.throws(
        () => assertWritableDir("x", join(tmp, "file", "c")),
        /file is not a directory/,
      );
    } finally {
      rmSync(tmp, { recursive: true });
    }
  });

  it("refuses one that cannot be made", () => {
    assert.throws(() => assertWritableDir("--cache-to", "/proc/hln-cache"), {
      code: "E_USAGE",
      message: /^--cache-to: cannot create \/proc\/hln-cache \(ENOENT in \/proc\)$/,
    });
  });
});

describe("resolveCache", () => {
  const stack = { name: "s", version: "0.0.1", actions: {} } as unknown as Stack;

  it("names the entries a library caller gave by the option, not by a CLI flag", () => {
    assert.throws(() => resolveCache("/s/stack.ts", stack, { from: [], to: [""] }), {
      code: "E_USAGE",
      message: /^cache\.to option "": expected a registry ref/,
    });
  });

  it("names them by the caller's words when it gives them (the CLI: its flags)", () => {
    const names = { from: "--cache-from", to: "--cache-to" };
    assert.throws(() => resolveCache("/s/stack.ts", stack, { from: ["type=x"], to: [], names }), {
      message: /^--cache-from type=x: unknown cache type "x"/,
    });
  });
});
