import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCacheSpec } from "./cache-spec.js";

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
});
