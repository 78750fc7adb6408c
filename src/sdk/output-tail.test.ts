import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutputTail } from "./output-tail.js";

const chunk = (stream: number, at: number, text: string) => ({
  vertex: "v",
  stream,
  timestamp: new Date(at),
  data: new TextEncoder().encode(text),
});

describe("OutputTail", () => {
  it("orders chunks by BuildKit's timestamps, whatever order they arrive in", () => {
    const tail = new OutputTail();
    tail.add(chunk(1, 10, "out1\n"));
    tail.add(chunk(1, 30, "out3\n"));
    tail.add(chunk(2, 20, "err2\n")); // relayed late through the stderr pipe
    tail.add(chunk(2, 40, "fatal\n"));
    assert.deepEqual(tail.lines("v"), ["out1", "err2", "out3", "fatal"]);
  });

  it("joins a line split across chunks of its stream, not across streams", () => {
    const tail = new OutputTail();
    tail.add(chunk(1, 1, "hel"));
    tail.add(chunk(2, 2, "warn\n"));
    tail.add(chunk(1, 3, "lo\nno newline"));
    assert.deepEqual(tail.lines("v"), ["warn", "hello", "no newline"]);
  });

  it("keeps the last lines only, and nothing for an unknown vertex", () => {
    const tail = new OutputTail(3);
    for (let i = 0; i < 10; i++) tail.add(chunk(1, i, `line${i}\n`));
    assert.deepEqual(tail.lines("v"), ["line7", "line8", "line9"]);
    assert.deepEqual(tail.lines("other"), []);
  });

  it("bounds what it keeps for a step that prints a lot", () => {
    const tail = new OutputTail(2);
    for (let i = 0; i < 1000; i++) tail.add(chunk(1, i, `${"x".repeat(1000)}\n`));
    tail.add(chunk(2, 2000, "the error\n"));
    assert.deepEqual(tail.lines("v"), [`${"x".repeat(400)}…(600 more characters)`, "the error"]);
  });
});
