import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SolveStatus, VertexUpdate } from "../buildkit/solve-status.js";
import { CURSOR_HIDE, CURSOR_SHOW, visibleWidth } from "./ansi.js";
import { createColors } from "./colors.js";
import { createProgress } from "./create-progress.js";
import { createProgressModel } from "./progress-model.js";
import { renderTtyFrame, type TtyTimers } from "./tty-renderer.js";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms);
const enc = new TextEncoder();
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping SGR codes
const SGR = /\u001b\[[0-9;]*m/g;
const plainText = (s: string) => s.replace(SGR, "");

function status(parts: Partial<SolveStatus>): SolveStatus {
  return { vertexes: [], statuses: [], logs: [], warnings: [], ...parts };
}

function vtx(digest: string, name: string, o: Partial<Omit<VertexUpdate, "digest" | "name">> = {}) {
  return { digest, name, inputs: [], cached: false, ...o };
}

function modelWith(...statuses: SolveStatus[]) {
  const m = createProgressModel();
  for (const s of statuses) m.applyStatus(s);
  return m;
}

const noColor = createColors(false);

describe("renderTtyFrame", () => {
  test("lists steps in the order they started, not the order BuildKit announced them", () => {
    const model = modelWith(
      status({
        vertexes: [vtx("sha256:c", "third"), vtx("sha256:b", "second"), vtx("sha256:a", "first")],
      }),
      status({
        vertexes: [
          vtx("sha256:c", "third", { started: at(300) }),
          vtx("sha256:a", "first", { started: at(100), completed: at(200) }),
          vtx("sha256:b", "second", { started: at(150) }),
        ],
      }),
    );
    const lines = renderTtyFrame(model, {
      now: T0 + 400,
      startedAt: T0,
      width: 60,
      height: 24,
      colors: noColor,
    });
    const names = lines
      .map(plainText)
      .filter((l) => l.startsWith(" => "))
      .map((l) => l.split(/\s+/)[2]);
    assert.deepEqual(names, ["first", "second", "third"]);
  });

  const build = status({
    vertexes: [
      vtx("a", "[internal] load build definition", { started: at(0), completed: at(30) }),
      vtx("b", "[1/2] FROM docker.io/library/alpine", {
        started: at(40),
        completed: at(40),
        cached: true,
      }),
      vtx("c", "[2/2] RUN apk add --no-cache curl wget git openssh-client", { started: at(50) }),
      vtx("d", "[3/3] COPY . /src"),
    ],
    logs: [
      {
        vertex: "c",
        timestamp: at(60),
        stream: 1,
        data: enc.encode("fetch index\n(1/4) installing\n"),
      },
    ],
  });

  test("header, one line per started step, CACHED marker, right-aligned timers, log tail", () => {
    const lines = renderTtyFrame(modelWith(build), {
      now: T0 + 1250,
      startedAt: T0,
      width: 60,
      height: 24,
      colors: noColor,
    });
    assert.deepEqual(lines, [
      "[+] Building 1.3s (2/4)",
      " => [internal] load build definition                    0.0s",
      " => CACHED [1/2] FROM docker.io/library/alpine          0.0s",
      " => [2/2] RUN apk add --no-cache curl wget git openssh  1.2s",
      " => => # fetch index",
      " => => # (1/4) installing",
    ]);
  });

  test("no line is longer than the terminal; steps keep their timer column", () => {
    for (const width of [20, 33, 45, 80]) {
      const lines = renderTtyFrame(modelWith(build), {
        now: T0 + 1000,
        startedAt: T0,
        width,
        height: 24,
        colors: createColors(true),
      });
      for (const l of lines) assert.ok(visibleWidth(plainText(l)) <= width, `${width}: ${l}`);
    }
  });

  test("FINISHED on the final frame once every step completed", () => {
    const m = modelWith(
      status({ vertexes: [vtx("a", "a", { started: at(0), completed: at(10), cached: true })] }),
    );
    const opts = { now: T0 + 100, startedAt: T0, width: 40, height: 10, colors: noColor };
    assert.equal(renderTtyFrame(m, opts)[0], "[+] Building 0.1s (1/1)");
    assert.equal(
      renderTtyFrame(m, { ...opts, final: true })[0],
      "[+] Building 0.1s (1/1) FINISHED",
    );
  });

  test("too many steps for the screen: completed ones go first", () => {
    const vertexes = [];
    for (let i = 0; i < 10; i++) {
      vertexes.push(vtx(`done${i}`, `done ${i}`, { started: at(i), completed: at(i + 1) }));
    }
    vertexes.push(vtx("run1", "running 1", { started: at(20) }));
    vertexes.push(vtx("run2", "running 2", { started: at(21) }));
    const m = modelWith(status({ vertexes }));
    const lines = renderTtyFrame(m, {
      now: T0 + 500,
      startedAt: T0,
      width: 40,
      height: 6,
      colors: noColor,
    });
    assert.equal(lines.length, 5, "height - 1: one row stays for the cursor");
    assert.deepEqual(
      lines.slice(1).map((l) => l.trim().split(/\s+/).slice(1, 3).join(" ")),
      ["done 8", "done 9", "running 1", "running 2"],
    );
    // The final frame keeps every step, for the scrollback.
    const final = renderTtyFrame(m, {
      now: T0 + 500,
      startedAt: T0,
      width: 40,
      height: 6,
      colors: noColor,
      final: true,
    });
    assert.equal(final.length, 13);
  });

  test("ERROR and CANCELED prefixes; colours for finished rows, faint logs", () => {
    const m = modelWith(
      status({
        vertexes: [
          vtx("e", "RUN false", { started: at(0), completed: at(10), error: "exit code: 1" }),
          vtx("x", "RUN sleep", { started: at(0), completed: at(10), error: "context canceled" }),
          vtx("r", "RUN make", { started: at(0) }),
        ],
        logs: [
          { vertex: "r", timestamp: at(5), stream: 1, data: enc.encode("\u001b[32mok\u001b[0m\n") },
        ],
      }),
    );
    const colors = createColors(true);
    const lines = renderTtyFrame(m, {
      now: T0 + 100,
      startedAt: T0,
      width: 40,
      height: 24,
      colors,
    });
    assert.match(plainText(lines[1] ?? ""), /^ => ERROR RUN false +0\.0s$/);
    assert.equal(lines[1], colors.red(plainText(lines[1] ?? "")));
    assert.match(plainText(lines[2] ?? ""), /^ => CANCELED RUN sleep/);
    assert.equal(lines[3], plainText(lines[3] ?? ""), "running rows are not coloured");
    assert.equal(lines[4], colors.dim(" => => # ok"), "escape codes from the step are removed");
  });

  test("scrub applies to names and log lines", () => {
    const m = modelWith(
      status({
        vertexes: [vtx("r", "RUN echo hunter2", { started: at(0) })],
        logs: [{ vertex: "r", timestamp: at(5), stream: 1, data: enc.encode("pw=hunter2\n") }],
      }),
    );
    const scrub = (s: string) => s.replaceAll("hunter2", "***");
    const text = renderTtyFrame(m, {
      now: T0,
      startedAt: T0,
      width: 60,
      height: 24,
      colors: noColor,
      scrub,
    }).join("\n");
    assert.ok(!text.includes("hunter2"));
    assert.match(text, /RUN echo \*\*\*/);
    assert.match(text, /# pw=\*\*\*/);
  });
});

class FakeTimers implements TtyTimers {
  fn: (() => void) | undefined;
  cleared = 0;
  setInterval(fn: () => void, ms: number) {
    assert.equal(ms, 150);
    this.fn = fn;
    return { unref() {} };
  }
  clearInterval() {
    this.cleared++;
    this.fn = undefined;
  }
}

function ttyHarness(columns = 50, rows = 20) {
  let clock = T0;
  const writes: string[] = [];
  const timers = new FakeTimers();
  const progress = createProgress({
    mode: "tty",
    stream: { write: (s: string) => writes.push(s), columns, rows },
    env: {},
    now: () => clock,
    isTTY: true,
    timers,
  });
  return {
    progress,
    writes,
    timers,
    advance(ms: number) {
      clock += ms;
    },
  };
}

describe("TtyRenderer", () => {
  test("hides the cursor, redraws in place, shows it again at the end", () => {
    const h = ttyHarness();
    h.progress.update(status({ vertexes: [vtx("a", "step a", { started: at(0) })] }));
    assert.equal(h.writes.length, 1);
    assert.ok(h.writes[0]?.startsWith(CURSOR_HIDE));
    assert.match(h.writes[0] ?? "", /\[\+\] Building 0\.0s \(0\/1\)/);

    h.advance(200);
    h.progress.update(status({ vertexes: [vtx("b", "step b", { started: at(10) })] }));
    assert.equal(h.writes.length, 2);
    // The first frame had 2 lines: up 2, then every line erased and rewritten.
    assert.ok(h.writes[1]?.startsWith("\u001b[2A\r\u001b[2K[+] Building 0.2s (0/2)\n"));
    assert.ok(h.writes[1]?.endsWith("\u001b[0J"));
    assert.ok(!h.writes[1]?.includes(CURSOR_HIDE));

    h.advance(200);
    h.progress.end();
    const last = h.writes.join("");
    assert.ok(last.includes(CURSOR_SHOW));
    assert.ok(last.endsWith("hln: 2 steps, 0 cached, 0.4s\n"));
    assert.equal(h.timers.cleared, 1, "end() stops the tick");
  });

  test("redraws at most every 100 ms; the 150 ms tick catches up", () => {
    const h = ttyHarness();
    h.progress.update(status({ vertexes: [vtx("a", "a", { started: at(0) })] }));
    h.advance(50);
    h.progress.update(status({ vertexes: [vtx("b", "b", { started: at(1) })] }));
    assert.equal(h.writes.length, 1, "rate-limited");
    h.advance(60);
    h.timers.fn?.();
    assert.equal(h.writes.length, 2);
    assert.match(h.writes[1] ?? "", /\(0\/2\)/);
    h.timers.fn?.();
    assert.equal(h.writes.length, 2, "a tick right after a draw waits too");
    h.progress.end();
    h.progress.end();
    h.progress.update(status({ vertexes: [vtx("c", "c")] }));
    assert.equal(h.writes.length, 3, "end() is final");
  });

  test("the default interval is unref'd and cleared by end()", () => {
    const progress = createProgress({
      mode: "tty",
      stream: { write: () => true, columns: 40, rows: 10 },
      env: {},
      isTTY: true,
    });
    progress.update(status({ vertexes: [vtx("a", "a", { started: new Date() })] }));
    assert.equal((progress as unknown as { ticking: boolean }).ticking, true);
    progress.end();
    assert.equal((progress as unknown as { ticking: boolean }).ticking, false);
  });

  test("a failed step's output and error are printed under the final frame", () => {
    const h = ttyHarness(60);
    h.progress.update(
      status({
        vertexes: [
          vtx("a", "RUN make", { started: at(0), completed: at(100), error: "exit code: 2" }),
        ],
        logs: [
          {
            vertex: "a",
            timestamp: at(50),
            stream: 2,
            data: enc.encode("make: *** [all] Error 1\n"),
          },
        ],
      }),
    );
    h.progress.end({ error: true });
    const out = plainText(h.writes.join(""));
    assert.match(
      out,
      /------\n > RUN make:\nmake: \*\*\* \[all\] Error 1\n------\nERROR: RUN make: exit code: 2\nhln: 1 step, 0 cached, 1 failed, 0\.0s\n$/,
    );
  });
});
