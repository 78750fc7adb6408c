import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { interruptSignal } from "./signals.js";

type Handler = NodeJS.SignalsListener;
type Handlers = { int: Handler[]; term: Handler[] };

/** Removes the handlers a test added, and only those. */
function removeAddedHandlers(prior: Handlers): void {
  for (const l of process.listeners("SIGINT") as Handler[])
    if (!prior.int.includes(l)) process.off("SIGINT", l);
  for (const l of process.listeners("SIGTERM") as Handler[])
    if (!prior.term.includes(l)) process.off("SIGTERM", l);
}

describe("interruptSignal", () => {
  let prior: Handlers = { int: [], term: [] };
  beforeEach(() => {
    prior = {
      int: process.listeners("SIGINT") as Handler[],
      term: process.listeners("SIGTERM") as Handler[],
    };
  });
  afterEach(() => {
    mock.restoreAll();
    removeAddedHandlers(prior);
  });

  it("aborts on the first Ctrl-C and exits 130 on the second", () => {
    const exit = mock.method(process, "exit", () => undefined as never);
    const written: string[] = [];
    const s = interruptSignal((t) => written.push(t));
    try {
      process.emit("SIGINT", "SIGINT");
      assert.equal(s.signal.aborted, true);
      assert.match(written.join(""), /interrupted, cancelling/);
      assert.equal(exit.mock.callCount(), 0);
      process.emit("SIGINT", "SIGINT");
      assert.deepEqual(exit.mock.calls[0]?.arguments, [130]);
    } finally {
      s.dispose();
    }
  });

  it("still exits 130 on a second Ctrl-C after the run ended, while output drains", () => {
    const exit = mock.method(process, "exit", () => undefined as never);
    const s = interruptSignal(() => {});
    process.emit("SIGINT", "SIGINT");
    s.dispose();
    assert.ok(
      process.listenerCount("SIGINT") > prior.int.length,
      "no handler left: Node would die by SIGINT",
    );
    process.emit("SIGINT", "SIGINT");
    assert.deepEqual(exit.mock.calls[0]?.arguments, [130]);
  });

  it("leaves no handler behind after a run that was not interrupted", () => {
    const before = process.listenerCount("SIGINT");
    interruptSignal(() => {}).dispose();
    assert.equal(process.listenerCount("SIGINT"), before);
  });
});
