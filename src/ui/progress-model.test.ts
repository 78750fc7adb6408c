import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SolveStatus, VertexUpdate } from "../buildkit/solve-status.js";
import { createProgressModel, vertexDuration } from "./progress-model.js";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms);
const enc = new TextEncoder();

function status(parts: Partial<SolveStatus>): SolveStatus {
  return { vertexes: [], statuses: [], logs: [], warnings: [], ...parts };
}

function vtx(
  digest: string,
  o: { name?: string; started?: number; completed?: number; cached?: boolean; error?: string } = {},
): VertexUpdate {
  return {
    digest,
    name: o.name ?? `step ${digest}`,
    inputs: [],
    cached: o.cached ?? false,
    ...(o.started !== undefined ? { started: at(o.started) } : {}),
    ...(o.completed !== undefined ? { completed: at(o.completed) } : {}),
    ...(o.error !== undefined ? { error: o.error } : {}),
  };
}

function log(vertex: string, ms: number, data: string | Uint8Array, stream = 1) {
  return {
    vertex,
    timestamp: at(ms),
    stream,
    data: typeof data === "string" ? enc.encode(data) : data,
  };
}

describe("progress model: vertices", () => {
  test("a vertex reported by two solves is one step", () => {
    const m = createProgressModel();
    // Both solves announce it pending, then both relay the same run.
    m.applyStatus(status({ vertexes: [vtx("a"), vtx("b")] }));
    m.applyStatus(status({ vertexes: [vtx("a")] }));
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0, completed: 500 })] }));
    const dup = m.applyStatus(status({ vertexes: [vtx("a", { started: 0, completed: 500 })] }));
    assert.deepEqual(dup.vertices, [], "an identical duplicate changes nothing");
    assert.equal(m.vertices().length, 2);
    assert.deepEqual(m.counts(), {
      total: 2,
      completed: 1,
      cached: 0,
      errored: 0,
      canceled: 0,
      running: 0,
      pending: 1,
    });
    assert.equal(vertexDuration(m.vertex("a")!), 500);
  });

  test("a pending announcement from a second solve does not reset a cached vertex", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 10, completed: 10, cached: true })] }));
    m.applyStatus(status({ vertexes: [vtx("a", { cached: false })] }));
    const a = m.vertex("a")!;
    assert.equal(a.cached, true);
    assert.equal(a.phase, "cached");
    assert.equal(m.counts().cached, 1);
  });

  test("cached comes from the latest run: cache-key request then cache load is cached", () => {
    const m = createProgressModel();
    // solver/jobs.go: a source op runs a cache request (cached=false), then loads (cached=true).
    m.applyStatus(status({ vertexes: [vtx("img", { started: 0, completed: 200 })] }));
    m.applyStatus(
      status({ vertexes: [vtx("img", { started: 300, completed: 300, cached: true })] }),
    );
    assert.equal(m.vertex("img")!.phase, "cached");
  });

  test("a vertex is not cached when its latest run executed", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0, completed: 0, cached: true })] }));
    m.applyStatus(
      status({ vertexes: [vtx("a", { started: 100, completed: 900, cached: false })] }),
    );
    assert.equal(m.vertex("a")!.cached, false);
    assert.equal(m.vertex("a")!.phase, "done");
    // Never cached unless reported so.
    m.applyStatus(status({ vertexes: [vtx("b", { started: 0, completed: 0 })] }));
    assert.equal(m.vertex("b")!.cached, false);
  });

  test("earliest started and latest completed; an open run keeps the vertex running", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 100, completed: 300 })] }));
    m.applyStatus(status({ vertexes: [vtx("a", { started: 50, completed: 200 })] }));
    let a = m.vertex("a")!;
    assert.equal(a.started, T0 + 50);
    assert.equal(a.completed, T0 + 300);
    assert.equal(vertexDuration(a), 250);

    m.applyStatus(status({ vertexes: [vtx("a", { started: 400 })] }));
    a = m.vertex("a")!;
    assert.equal(a.phase, "running");
    assert.equal(a.completed, undefined);
    assert.equal(a.lastStarted, T0 + 400);
    assert.equal(vertexDuration(a, T0 + 1000), 950);

    m.applyStatus(status({ vertexes: [vtx("a", { started: 400, completed: 700 })] }));
    assert.equal(m.vertex("a")!.completed, T0 + 700);
  });

  test("out-of-order: a stale started update does not reopen a finished run", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0, completed: 100, cached: true })] }));
    const d = m.applyStatus(status({ vertexes: [vtx("a", { started: 0, cached: false })] }));
    assert.deepEqual(d.vertices, []);
    assert.equal(m.vertex("a")!.phase, "cached");
  });

  test("errors and cancellations", () => {
    const m = createProgressModel();
    m.applyStatus(
      status({
        vertexes: [
          vtx("a", {
            started: 0,
            completed: 10,
            error: 'process "make" did not complete successfully: exit code: 2',
          }),
          vtx("b", { started: 0, completed: 10, error: "failed: context canceled" }),
          vtx("c", { started: 0 }),
        ],
      }),
    );
    assert.equal(m.vertex("a")!.phase, "error");
    assert.equal(m.vertex("b")!.phase, "canceled");
    assert.deepEqual(m.counts(), {
      total: 3,
      completed: 2,
      cached: 0,
      errored: 1,
      canceled: 1,
      running: 1,
      pending: 0,
    });
  });

  test("order of first appearance, and deltas list changed vertices in that order", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("c"), vtx("a")] }));
    const d = m.applyStatus(
      status({ vertexes: [vtx("b", { started: 0 }), vtx("a", { started: 0 }), vtx("c")] }),
    );
    assert.deepEqual(
      m.vertices().map((v) => [v.digest, v.index]),
      [
        ["c", 0],
        ["a", 1],
        ["b", 2],
      ],
    );
    assert.deepEqual(
      d.vertices.map((v) => v.digest),
      ["a", "b"],
    );
  });
});

describe("progress model: progress counters and warnings", () => {
  test("merged by (vertex, id); older updates ignored", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    const p = (current: number, ts: number, completed?: number) => ({
      id: "sha256:layer",
      vertex: "a",
      name: "sha256:layer",
      current,
      total: 1000,
      timestamp: at(ts),
      started: at(0),
      ...(completed !== undefined ? { completed: at(completed) } : {}),
    });
    let d = m.applyStatus(status({ statuses: [p(100, 10)] }));
    assert.equal(d.progress.length, 1);
    d = m.applyStatus(status({ statuses: [p(500, 20)] }));
    assert.equal(d.progress[0]?.current, 500);
    d = m.applyStatus(status({ statuses: [p(200, 15)] }));
    assert.deepEqual(d.progress, [], "older than held");
    d = m.applyStatus(status({ statuses: [p(500, 20)] }));
    assert.deepEqual(d.progress, [], "duplicate from a second solve");
    m.applyStatus(status({ statuses: [p(1000, 30, 30)] }));
    const items = m.vertex("a")!.progress;
    assert.equal(items.length, 1);
    assert.equal(items[0]?.completed, T0 + 30);
  });

  test("warnings relayed twice are kept once", () => {
    const m = createProgressModel();
    const w = { vertex: "a", level: 1, short: "FromAsCasing", detail: [], url: "https://x" };
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    assert.equal(m.applyStatus(status({ warnings: [w] })).warnings.length, 1);
    assert.equal(m.applyStatus(status({ warnings: [w] })).warnings.length, 0);
    assert.equal(m.vertex("a")!.warnings.length, 1);
  });
});

describe("progress model: logs", () => {
  test("lines split across chunks, per stream", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    let d = m.applyStatus(status({ logs: [log("a", 10, "hel"), log("a", 11, "oops\n", 2)] }));
    assert.deepEqual(
      d.logs.map((l) => [l.stream, l.line]),
      [["stderr", "oops"]],
    );
    d = m.applyStatus(status({ logs: [log("a", 20, "lo\nwor"), log("a", 30, "ld\r\nlast")] }));
    assert.deepEqual(
      d.logs.map((l) => [l.line, l.timestamp - T0]),
      [
        ["hello", 10],
        ["world", 20],
      ],
      "a line is timed by the chunk that began it",
    );
    const a = m.vertex("a")!;
    assert.equal(a.logPartial, "last");
    assert.deepEqual(a.logTail, ["oops", "hello", "world"]);
    assert.ok(a.logSeq > 0);
  });

  test("a multi-byte character split between chunks", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    const bytes = enc.encode("héllo ✓\n");
    const d1 = m.applyStatus(status({ logs: [log("a", 1, bytes.slice(0, 2))] }));
    const d2 = m.applyStatus(status({ logs: [log("a", 2, bytes.slice(2, 8))] }));
    const d3 = m.applyStatus(status({ logs: [log("a", 3, bytes.slice(8))] }));
    assert.deepEqual([...d1.logs, ...d2.logs].length, 0);
    assert.deepEqual(
      d3.logs.map((l) => l.line),
      ["héllo ✓"],
    );
  });

  test("keeps the last N lines", () => {
    const m = createProgressModel({ logTailLines: 3 });
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    m.applyStatus(status({ logs: [log("a", 1, "1\n2\n3\n4\n5\n")] }));
    assert.deepEqual(m.vertex("a")!.logTail, ["3", "4", "5"]);
  });

  test("an unterminated line ends when its step completes, after the logs of that message", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })] }));
    const d = m.applyStatus(
      status({
        vertexes: [vtx("a", { started: 0, completed: 50 })],
        logs: [log("a", 40, "no newline"), log("a", 41, " at end")],
      }),
    );
    assert.deepEqual(
      d.logs.map((l) => l.line),
      ["no newline at end"],
    );
    assert.deepEqual(m.flush(), []);
  });

  test("flush ends every open line", () => {
    const m = createProgressModel();
    m.applyStatus(status({ vertexes: [vtx("a", { started: 0 })], logs: [log("a", 1, "tail")] }));
    assert.deepEqual(
      m.flush().map((l) => l.line),
      ["tail"],
    );
  });

  test("logs and counters before their vertex are held until it is known", () => {
    const m = createProgressModel();
    const d1 = m.applyStatus(status({ logs: [log("x", 1, "early\n")] }));
    assert.deepEqual(d1.logs, []);
    assert.equal(m.vertex("x"), undefined);
    assert.equal(m.counts().total, 0);
    const d2 = m.applyStatus(status({ vertexes: [vtx("x", { started: 0 })] }));
    assert.deepEqual(
      d2.logs.map((l) => l.line),
      ["early"],
    );
  });
});
