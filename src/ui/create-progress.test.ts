import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SolveStatus, VertexUpdate } from "../buildkit/solve-status.js";
import { createProgress, type ProgressOptions, resolveProgressMode } from "./create-progress.js";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms);
const enc = new TextEncoder();
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for SGR colour codes
const SGR = /\u001b\[\d+m/;

function status(parts: Partial<SolveStatus>): SolveStatus {
  return { vertexes: [], statuses: [], logs: [], warnings: [], ...parts };
}

function vtx(digest: string, name: string, o: Partial<Omit<VertexUpdate, "digest" | "name">> = {}) {
  return { digest, name, inputs: [], cached: false, ...o };
}

/** A step that logs a secret and fails with it in the error. */
const failing = [
  status({ vertexes: [vtx("a", "RUN login", { started: at(0) })] }),
  status({
    logs: [{ vertex: "a", timestamp: at(123), stream: 1, data: enc.encode("token=s3cret\n") }],
  }),
  status({
    vertexes: [
      vtx("a", "RUN login", { started: at(0), completed: at(1200), error: "bad token s3cret" }),
    ],
  }),
];

function run(options: ProgressOptions, statuses: SolveStatus[], error = false): string {
  let clock = T0;
  let out = "";
  const progress = createProgress({
    env: {},
    isTTY: false,
    now: () => clock,
    timers: { setInterval: () => 0, clearInterval: () => {} },
    ...options,
    stream: { write: (s: string) => (out += s), columns: 60, rows: 20 },
  });
  for (const s of statuses) {
    clock += 200;
    progress.update(s);
  }
  clock += 100;
  progress.end({ error });
  return out;
}

describe("resolveProgressMode", () => {
  const auto = (isTTY: boolean, env: Record<string, string | undefined>) =>
    resolveProgressMode("auto", { isTTY, env });

  test("auto is tty only on a terminal, outside CI, with a capable TERM", () => {
    assert.equal(auto(true, { TERM: "xterm-256color" }), "tty");
    assert.equal(auto(true, {}), "tty");
    assert.equal(auto(false, {}), "plain");
    assert.equal(auto(true, { CI: "true" }), "plain");
    assert.equal(auto(true, { CI: "1" }), "plain");
    assert.equal(auto(true, { TERM: "dumb" }), "plain");
    assert.equal(auto(true, { CI: "" }), "tty", "empty CI counts as unset");
    assert.equal(auto(true, { CI: "false" }), "tty");
  });

  test("explicit modes are kept", () => {
    for (const mode of ["tty", "plain", "json", "quiet"] as const) {
      assert.equal(resolveProgressMode(mode, { isTTY: false, env: { CI: "1" } }), mode);
    }
  });

  test("createProgress picks the mode from the stream and env", () => {
    const steps = [
      status({ vertexes: [vtx("a", "a", { started: at(0), completed: at(0), cached: true })] }),
    ];
    assert.match(run({ isTTY: true }, steps), /\[\+\] Building/);
    assert.match(run({ isTTY: true, env: { CI: "true" } }, steps), /^#1 a\n#1 CACHED\n/);
  });
});

describe("colour", () => {
  test("on for a terminal, off with NO_COLOR, off for plain pipes and json", () => {
    assert.match(run({ mode: "tty", isTTY: true }, failing, true), SGR);
    assert.doesNotMatch(
      run({ mode: "tty", isTTY: true, env: { NO_COLOR: "1" } }, failing, true),
      SGR,
    );
    assert.match(
      run({ mode: "tty", isTTY: true, env: { NO_COLOR: "" } }, failing, true),
      SGR,
      "empty NO_COLOR is unset",
    );
    assert.doesNotMatch(run({ mode: "plain" }, failing, true), SGR);
    assert.match(run({ mode: "plain", isTTY: true }, failing, true), SGR);
    assert.doesNotMatch(run({ mode: "json", isTTY: true }, failing, true), SGR);
    assert.doesNotMatch(run({ mode: "tty", isTTY: true, color: false }, failing, true), SGR);
  });
});

describe("scrub", () => {
  const scrub = (s: string) => s.replaceAll("s3cret", "****");
  for (const mode of ["tty", "plain", "json", "quiet"] as const) {
    test(`${mode}: applied to log lines and errors`, () => {
      const out = run({ mode, scrub, isTTY: mode === "tty" }, failing, true);
      assert.ok(!out.includes("s3cret"), out);
      assert.match(out, /token=\*\*\*\*/);
      assert.match(out, /bad token \*\*\*\*/);
    });
  }
});

describe("modes end to end", () => {
  test("plain", () => {
    assert.equal(
      run({ mode: "plain" }, failing, true),
      [
        "#1 RUN login",
        "#1 0.123 token=s3cret",
        "#1 ERROR: bad token s3cret",
        "",
        "hln: 1 step, 0 cached, 1 failed, 0.7s",
        "",
      ].join("\n"),
    );
  });

  test("json", () => {
    const events = run({ mode: "json" }, failing, true)
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(events.every((e) => e.v === 1));
    assert.deepEqual(events, [
      {
        v: 1,
        type: "vertex",
        digest: "a",
        name: "RUN login",
        inputs: [],
        cached: false,
        started: "2024-05-01T12:00:00.000Z",
        completed: null,
        error: null,
      },
      {
        v: 1,
        type: "log",
        digest: "a",
        stream: "stdout",
        line: "token=s3cret",
        time: "2024-05-01T12:00:00.123Z",
      },
      {
        v: 1,
        type: "vertex",
        digest: "a",
        name: "RUN login",
        inputs: [],
        cached: false,
        started: "2024-05-01T12:00:00.000Z",
        completed: "2024-05-01T12:00:01.200Z",
        error: "bad token s3cret",
      },
      {
        v: 1,
        type: "summary",
        steps: 1,
        cached: 0,
        failed: 1,
        canceled: 0,
        error: true,
        durationMs: 700,
      },
    ]);
  });

  test("json: a vertex event only when the vertex changed", () => {
    const v = vtx("a", "a", { started: at(0) });
    const out = run({ mode: "json" }, [
      status({ vertexes: [v] }),
      status({ vertexes: [v] }),
      status({ vertexes: [v] }),
    ]);
    assert.equal(out.split("\n").filter((l) => l.includes('"type":"vertex"')).length, 1);
  });

  test("json: a step's first vertex event precedes its output, even when it arrives finished", () => {
    const out = run({ mode: "json" }, [
      status({ logs: [{ vertex: "a", timestamp: at(1), stream: 2, data: enc.encode("early\n") }] }),
      status({ vertexes: [vtx("a", "a", { started: at(0), completed: at(5) })] }),
    ]);
    assert.deepEqual(
      out
        .trimEnd()
        .split("\n")
        .map((l) => (JSON.parse(l) as { type: string }).type),
      ["vertex", "log", "summary"],
    );
  });

  test("quiet: nothing on success, only the failure otherwise", () => {
    const ok = [status({ vertexes: [vtx("a", "a", { started: at(0), completed: at(5) })] })];
    assert.equal(run({ mode: "quiet" }, ok), "");
    assert.equal(
      run({ mode: "quiet" }, failing, true),
      "------\n > RUN login:\ntoken=s3cret\n------\nERROR: RUN login: bad token s3cret\n",
    );
  });

  test("summary wall time comes from the injected clock; failure without a failed step", () => {
    const cached = [
      status({ vertexes: [vtx("a", "a", { started: at(0), completed: at(0), cached: true })] }),
    ];
    assert.match(run({ mode: "plain" }, cached, true), /\nhln: 1 step, 1 cached, failed, 0\.3s\n$/);
    assert.match(run({ mode: "plain" }, cached), /\nhln: 1 step, 1 cached, 0\.3s\n$/);
  });

  test("a run that fails before any step prints no summary, so its error stands alone", () => {
    for (const mode of ["plain", "tty"] as const) {
      const out = run({ mode }, [], true);
      assert.doesNotMatch(out, /steps/, mode);
    }
  });
});
