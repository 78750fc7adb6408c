/**
 * The critical path of a build from BuildKit's own vertex timestamps, as hln's
 * `--log-format json` and buildx's `--progress=rawjson` report them (bench/cases/w2-fanout.ts).
 */

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
