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

/** One vertex as both progress formats give it, merged over its updates. */
export interface TimedVertex {
  digest: string;
  name: string;
  inputs: string[];
  /** Epoch ms of its earliest start; undefined if it never started. */
  started?: number;
  /** Epoch ms of its latest completion. */
  completed?: number;
  cached: boolean;
}

/**
 * The longest chain of vertex durations (completed - started) through the graph, in ms,
 * and the vertices on it. Inputs that are not in `vertices` count as done at once.
 */
export function criticalPath(vertices: readonly TimedVertex[]): { ms: number; path: string[] } {
  const byDigest = new Map(vertices.map((v) => [v.digest, v]));
  const memo = new Map<string, { ms: number; path: string[] }>();
  const longest = (digest: string, seen: Set<string>): { ms: number; path: string[] } => {
    const known = memo.get(digest);
    if (known) return known;
    const v = byDigest.get(digest);
    if (!v || seen.has(digest)) return { ms: 0, path: [] };
    seen.add(digest);
    let best = { ms: 0, path: [] as string[] };
    for (const input of v.inputs) {
      const sub = longest(input, seen);
      if (sub.ms > best.ms) best = sub;
    }
    seen.delete(digest);
    const own =
      v.started !== undefined && v.completed !== undefined
        ? Math.max(0, v.completed - v.started)
        : 0;
    const result = { ms: best.ms + own, path: [...best.path, v.name] };
    memo.set(digest, result);
    return result;
  };
  let best = { ms: 0, path: [] as string[] };
  for (const v of vertices) {
    const r = longest(v.digest, new Set());
    if (r.ms > best.ms) best = r;
  }
  return best;
}

/** Merges vertex updates into one record per digest: earliest start, latest completion. */
function merge(
  into: Map<string, TimedVertex>,
  u: {
    digest: string;
    name?: string;
    inputs?: string[] | null;
    started?: string | null;
    completed?: string | null;
    cached?: boolean;
  },
): void {
  const v = into.get(u.digest) ?? { digest: u.digest, name: "", inputs: [], cached: false };
  if (u.name) v.name = u.name;
  if (u.inputs?.length) v.inputs = u.inputs;
  if (u.cached) v.cached = true;
  const started = u.started ? Date.parse(u.started) : undefined;
  const completed = u.completed ? Date.parse(u.completed) : undefined;
  if (started !== undefined && (v.started === undefined || started < v.started))
    v.started = started;
  if (completed !== undefined && (v.completed === undefined || completed > v.completed))
    v.completed = completed;
  into.set(u.digest, v);
}

/** Vertices from hln's `--log-format json` progress (docs/progress-json.md). */
export function hlnVertices(stderr: string): TimedVertex[] {
  const all = new Map<string, TimedVertex>();
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as { type: string; digest: string };
    if (e.type === "vertex") merge(all, e);
  }
  return [...all.values()];
}

/**
 * Vertices from buildx's `--progress=rawjson`: SolveStatus objects, pretty-printed one
 * after another, each beginning with a "{" at the start of a line.
 */
export function bakeVertices(stderr: string): TimedVertex[] {
  const all = new Map<string, TimedVertex>();
  for (const chunk of stderr.split(/\n(?=\{)/)) {
    const text = chunk.trim();
    if (!text.startsWith("{")) continue;
    const status = JSON.parse(text) as { vertexes?: Parameters<typeof merge>[1][] };
    for (const v of status.vertexes ?? []) merge(all, v);
  }
  return [...all.values()];
}

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
