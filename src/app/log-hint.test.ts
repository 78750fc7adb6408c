import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { logHint } from "./log-hint.js";

async function* lines(...texts: string[]): AsyncIterable<{ text: string }> {
  for (const text of texts) yield { text };
}

async function* broken(): AsyncIterable<{ text: string }> {
  yield { text: "first" };
  throw new Error("connection reset");
}

describe("logHint", () => {
  it("indents each of the last lines under a heading", async () => {
    assert.equal(
      await logHint(lines("listening", "panic: no DB_URL")),
      "its last lines:\n  | listening\n  | panic: no DB_URL",
    );
  });

  it("says so when nothing was printed", async () => {
    assert.equal(await logHint(lines()), "it printed nothing");
  });

  it("says the log could not be read when reading it fails, even part way", async () => {
    assert.equal(await logHint(broken()), "its log could not be read");
  });
});
