import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { following, type LineQueue, readOn, resumeAt, type Seam, seamOf } from "./log-merge.js";

const t = (s: number) => `2026-12-02T00:00:0${s}.5Z`;
const line = (s: number, text: string) => ({ time: t(s), stream: "stdout", text });

describe("reading on from a seam", () => {
  it("drops what the backlog gave, each line at the seam's time once, and tracks the last line", () => {
    const backlog = [line(1, "a"), line(2, "b"), line(2, "c")];
    const { since, skip } = resumeAt(seamOf(backlog));
    assert.equal(since, Date.parse("2026-12-02T00:00:02Z") / 1000 + 0.5);
    const read: Seam = { atLast: [] };
    // Docker's since gives the lines at the seam's time again, and one it did not give before.
    const again = [line(2, "b"), line(2, "c"), line(2, "c"), line(3, "d"), line(3, "e")];
    const passed = again.filter((l) => readOn(l, skip, read)).map((l) => l.text);
    assert.deepEqual(passed, ["c", "d", "e"]);
    assert.deepEqual(read, { last: t(3), atLast: ["stdout\0d", "stdout\0e"] });
  });

  it("passes every line when there is no seam", () => {
    assert.deepEqual(resumeAt(undefined), {});
    assert.deepEqual(resumeAt({ atLast: [] }), {});
    const read: Seam = { atLast: [] };
    assert.equal(readOn(line(1, "a"), undefined, read), true);
    assert.equal(read.last, t(1));
  });
});

describe("following", () => {
  it("yields what the streams push until the poll says the app is gone", async () => {
    let polls = 0;
    const got: string[] = [];
    for await (const l of following<string>({ pollMs: 1 }, (queue: LineQueue<string>) => {
      queue.push("first");
      return async () => {
        polls++;
        queue.push(`poll ${polls}`);
        return polls < 2;
      };
    }))
      got.push(l);
    assert.deepEqual(got, ["first", "poll 1", "poll 2"]);
  });

  it("throws what failed: opening the streams, or a poll", async () => {
    const open = following<string>({ pollMs: 1 }, () => {
      throw new Error("no engine");
    });
    await assert.rejects(async () => {
      for await (const _ of open);
    }, /no engine/);
    const poll = following<string>({ pollMs: 1 }, () => async () => {
      throw new Error("list failed");
    });
    await assert.rejects(async () => {
      for await (const _ of poll);
    }, /list failed/);
  });

  it("ends the streams when the reader stops", async () => {
    let ended: AbortSignal | undefined;
    for await (const l of following<string>({ pollMs: 1 }, (queue, signal) => {
      ended = signal;
      queue.push("one");
      return async () => true;
    })) {
      assert.equal(l, "one");
      break;
    }
    assert.equal(ended?.aborted, true);
  });

  it("ends on the caller's signal", async () => {
    const stop = new AbortController();
    const got: string[] = [];
    for await (const l of following<string>({ pollMs: 1, signal: stop.signal }, (queue) => {
      queue.push("one");
      return async () => {
        stop.abort();
        return true;
      };
    }))
      got.push(l);
    assert.deepEqual(got, ["one"]);
  });
});
