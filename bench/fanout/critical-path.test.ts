import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bakeVertices, criticalPath, hlnVertices } from "./critical-path.js";

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

describe("criticalPath", () => {
  it("takes the longest chain of durations, not the latest end", () => {
    // a (1 s) feeds b (2 s) and c (0.5 s); d (0.1 s) joins them; e (3 s) stands alone.
    const v = (digest: string, inputs: string[], from: number, to: number) => ({
      digest,
      name: digest,
      inputs,
      started: from,
      completed: to,
      cached: false,
    });
    const r = criticalPath([
      v("a", [], 0, 1000),
      v("b", ["a"], 1000, 3000),
      v("c", ["a"], 1000, 1500),
      v("d", ["b", "c", "gone"], 3500, 3600),
      v("e", [], 0, 3000),
    ]);
    assert.deepEqual(r, { ms: 3100, path: ["a", "b", "d"] });
  });
});

describe("progress parsers", () => {
  it("merge hln's vertex events: earliest start, latest completion", () => {
    const line = (started: number, completed: number | null, cached = false) =>
      JSON.stringify({
        v: 1,
        type: "vertex",
        digest: "sha256:x",
        name: "step",
        inputs: ["sha256:y"],
        cached,
        started: at(started),
        completed: completed === null ? null : at(completed),
        error: null,
      });
    const text = [line(100, null), line(50, 400), '{"v":1,"type":"log"}', line(60, 300)].join("\n");
    const [v] = hlnVertices(text);
    assert.equal((v?.completed ?? 0) - (v?.started ?? 0), 350);
    assert.deepEqual(v?.inputs, ["sha256:y"]);
  });

  it("read buildx rawjson: pretty-printed statuses one after another", () => {
    const status = (s: object) => JSON.stringify(s, null, 2);
    const text = [
      status({ vertexes: [{ digest: "sha256:a", name: "RUN x", started: at(0) }] }),
      status({ statuses: [{ id: "x", vertex: "sha256:a" }] }),
      status({
        vertexes: [
          { digest: "sha256:a", name: "RUN x", started: at(0), completed: at(2000) },
          { digest: "sha256:b", name: "COPY", inputs: ["sha256:a"], cached: true },
        ],
      }),
    ].join("\n");
    const vs = bakeVertices(text);
    assert.equal(vs.length, 2);
    assert.equal(criticalPath(vs).ms, 2000);
    assert.equal(vs.find((v) => v.digest === "sha256:b")?.cached, true);
  });
});
