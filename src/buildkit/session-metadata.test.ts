import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HandlerContext } from "@connectrpc/connect";
import { groupRawHeaders, rawMetadataHeader, sessionMetadata } from "./session-metadata.js";

function ctx(raw: string[]): HandlerContext {
  const headers = new Headers({ [rawMetadataHeader]: JSON.stringify(groupRawHeaders(raw)) });
  return { requestHeader: headers } as HandlerContext;
}

describe("sessionMetadata", () => {
  it("keeps repeated values apart, commas included", () => {
    const c = ctx([
      ":path",
      "/x",
      "Include-Patterns",
      "a,b",
      "include-patterns",
      "c",
      "dir-name",
      "ctx",
    ]);
    assert.deepEqual(sessionMetadata(c, "include-patterns"), ["a,b", "c"]);
    assert.deepEqual(sessionMetadata(c, "dir-name"), ["ctx"]);
    assert.deepEqual(sessionMetadata(c, "followpaths"), []);
  });

  it("decodes query-escaped values when the -encoded marker is set", () => {
    const c = ctx(["exclude-patterns", "caf%C3%A9+dir", "exclude-patterns-encoded", "1"]);
    assert.deepEqual(sessionMetadata(c, "exclude-patterns"), ["café dir"]);
  });
});
