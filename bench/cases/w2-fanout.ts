/**
 * W2: a cold fan-out. Eight independent steps of 2 s (`sleep` plus a line of output) on
 * busybox, then a join that copies their results together and prints them: hln runs
 * bench/fanout/stack.ts, `docker buildx bake` the same graph from bench/fanout's bake file
 * and Dockerfile (output type=cacheonly: neither side exports), on the same engine.
 *
 * Cold without pruning: every run puts a fresh nonce into every step's command (a stack
 * input for hln, a build arg for bake), so none of the nine steps, nor the copies between
 * them, is cached on either side, while busybox is resolved and unpacked as usual. The
 * shared engine's cache stays as it is.
 *
 * Besides the wall times, each run's vertices with BuildKit's own started/completed times
 * (hln's `--log-format json`, bake's `--progress=rawjson`) give the critical path: the
 * longest chain of step durations through the graph. The second goal is hln's wall time
 * against its own critical path; bake's is shown beside it.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { bakeVertices, criticalPath, hlnVertices } from "../fanout/critical-path.js";
import {
  alternate,
  type BenchCase,
  hlnBin,
  hlnBuild,
  root,
  run,
  type Side,
  type Stats,
  stats,
} from "../lib.js";

const fanoutDir = join(root, "bench", "fanout");

interface Sample {
  wallMs: number;
  critical: { ms: number; path: string[] };
  uncached: number;
}

export const benchCase: BenchCase = {
  id: "W2",
  title: "cold fan-out: 8 steps of 2 s, then a join",
  async run(o) {
    const seconds = o.smoke ? 1 : 2;
    const samples: Record<"hln" | "bake", Sample[]> = { hln: [], bake: [] };
    const nonce = () => randomBytes(8).toString("hex");
    const side = (label: "hln" | "bake", once: () => Promise<Sample>): Side => ({
      label,
      async run() {
        if (o.signal.aborted) throw new Error("interrupted");
        const s = await once();
        samples[label].push(s);
        o.log(
          `${label}: wall ${s.wallMs.toFixed(0)} ms, critical path ${s.critical.ms.toFixed(0)} ms, ${s.uncached} steps run`,
        );
        return s.wallMs;
      },
    });
    const hln = side("hln", async () => {
      const r = await run(
        process.execPath,
        [
          hlnBin,
          "--log-format",
          "json",
          "do",
          "up",
          "--dir",
          fanoutDir,
          "--set",
          `nonce=${nonce()}`,
          "--set",
          `seconds=${seconds}`,
        ],
        root,
      );
      const vertices = hlnVertices(r.stderr);
      return {
        wallMs: r.ms,
        critical: criticalPath(vertices),
        uncached: vertices.filter((v) => !v.cached).length,
      };
    });
    const bake = side("bake", async () => {
      const r = await run("docker", ["buildx", "bake", "--progress=rawjson"], fanoutDir, {
        NONCE: nonce(),
        SLEEP: String(seconds),
      });
      const vertices = bakeVertices(r.stderr);
      return {
        wallMs: r.ms,
        critical: criticalPath(vertices),
        uncached: vertices.filter((v) => !v.cached).length,
      };
    });
    o.log(`hln runs from its ${hlnBuild()}`);
    const res = await alternate(hln, bake, { runs: o.runs, warmup: 1, log: o.log });
    // The warm-up runs are the first sample of each side; the figures are the rest.
    const measured = (label: "hln" | "bake") => samples[label].slice(-o.runs);
    const overCritical = (label: "hln" | "bake"): Stats =>
      stats(measured(label).map((s) => s.wallMs / s.critical.ms));
    const hlnOver = overCritical("hln");
    const last = measured("hln").at(-1);
    return [
      {
        id: "W2",
        what: `cold fan-out (8 x ${seconds} s + join), wall time`,
        unit: "ms",
        hln: res.a,
        peer: { label: "bake", stats: res.b },
        ratio: res.ratio,
        goal: "<= 0.9 x bake",
        met: res.ratio.median <= 0.9,
      },
      {
        id: "W2",
        what: "wall time / BuildKit critical path",
        unit: "x",
        hln: hlnOver,
        peer: { label: "bake", stats: overCritical("bake") },
        goal: "hln <= 1.25",
        met: hlnOver.median <= 1.25,
        note: last
          ? `critical path ${last.critical.ms.toFixed(0)} ms: ${last.critical.path.join(" > ")}`
          : undefined,
      },
    ];
  },
};
