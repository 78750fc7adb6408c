import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadFailure, shownPath } from "./load-stack.js";

describe("loadFailure", () => {
  it("keeps esbuild's place and reason, with columns counted from 1", () => {
    const file = join(process.cwd(), "stack.ts");
    const err = new Error(
      `Transform failed with 2 errors:\n${file}:3:29: ERROR: Expected ";" but found "x"\n${file}:4:1: ERROR: Unexpected "}"`,
    );
    assert.equal(loadFailure(file, err), 'stack.ts:3:30: Expected ";" but found "x" (and 1 more)');
  });

  it("names the file and the first line of any other failure", () => {
    assert.equal(
      loadFailure("/elsewhere/stack.ts", new Error("Cannot find package 'zod'\nmore")),
      "/elsewhere/stack.ts: cannot load stack: Cannot find package 'zod'",
    );
  });
});

describe("shownPath", () => {
  it("is relative inside the working directory, absolute outside", () => {
    assert.equal(shownPath("/w/conf/v.yaml", "/w"), "conf/v.yaml");
    assert.equal(shownPath("/elsewhere/v.yaml", "/w"), "/elsewhere/v.yaml");
  });
});
