/**
 * What the benchmarks share: running commands with their wall time, making the shared
 * engine cold, checking that both sides can run, and summarising samples.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const hlnBin = join(root, "bin", "hln.js");

/** A failure to report in one line, without a stack trace. */
export class BenchError extends Error {}

export interface RunResult {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion; resolves with its wall time and output, rejects with its
 * last stderr line. `env` adds to this process's environment.
 */
export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - start;
      if (code === 0) return resolve({ ms, stdout, stderr });
      const last = stderr.trim().split("\n").at(-1) ?? "";
      reject(new BenchError(`${[cmd, ...args].join(" ")} exited ${code}: ${last}`));
    });
  });
}

/**
 * Empties the engine's whole build cache, transferred contexts included. Both tools use
 * this one BuildKit, so one prune makes both cold.
 */
export async function pruneEngine(): Promise<void> {
  await run(process.execPath, [hlnBin, "engine", "prune", "--all"], root);
}

/** Fails early, in one line, when either side could not run at all. */
export function preflight(): void {
  const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";
  const server = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], {
    encoding: "utf8",
  });
  if (server.error) throw new BenchError("docker CLI not found on PATH");
  if (server.status !== 0) {
    throw new BenchError(`docker engine not reachable: ${lastLine(server.stderr)}`);
  }
  const buildx = spawnSync("docker", ["buildx", "inspect"], { encoding: "utf8" });
  if (buildx.status !== 0) {
    throw new BenchError(`docker buildx not usable: ${lastLine(buildx.stderr)}`);
  }
  // Another driver (docker-container, remote) would run buildx on a different BuildKit,
  // which hln's prune would not make cold.
  const driver = /^Driver:[ \t]*(\S*)/m.exec(buildx.stdout)?.[1];
  if (driver !== "docker") {
    throw new BenchError(`buildx builder uses driver "${driver}"; select the docker driver`);
  }
  const engine = spawnSync(process.execPath, [hlnBin, "engine", "info"], {
    cwd: root,
    encoding: "utf8",
  });
  if (engine.status !== 0) {
    throw new BenchError(`hln cannot reach the engine: ${lastLine(engine.stderr)}`);
  }
}

/**
 * Which hln the benchmarks run: bin/hln.js runs the bundle in dist/bundle unless a file it
 * was made from is newer (then the sources through tsx, far slower). The same test it makes.
 */
export function hlnBuild(): "bundle" | "sources via tsx" {
  try {
    const inputs = JSON.parse(
      readFileSync(join(root, "dist", "bundle", "inputs.json"), "utf8"),
    ) as { startedAt: number; files: string[] };
    const fresh = inputs.files.every(
      (f) =>
        (statSync(join(root, f), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) <=
        inputs.startedAt,
    );
    return fresh ? "bundle" : "sources via tsx";
  } catch {
    return "sources via tsx";
  }
}

/** Builds dist/ (the library and the CLI's bundle) when the sources changed since. */
export async function ensureBuilt(log: (s: string) => void): Promise<void> {
  if (hlnBuild() === "bundle") return;
  log("dist/ is older than src/: npm run build");
  await run("npm", ["run", "build"], root);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * `--runs N` (default `defaultRuns`) and `--smoke` (or BENCH_SMOKE=1): one run of each
 * side, for a test that only checks the bench still works.
 */
export function parseRunsOrSmoke(defaultRuns: number): { runs: number; smoke: boolean } {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: String(defaultRuns) }, smoke: { type: "boolean" } },
  });
  const smoke = values.smoke === true || process.env.BENCH_SMOKE === "1";
  const runs = smoke ? 1 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new BenchError(`--runs ${values.runs}: expected a positive integer`);
  }
  return { runs, smoke };
}

/** A TCP port free on 127.0.0.1 now: the kernel picks it, and it is let go at once. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `--runs N` (default 3). */
export function parseRuns(): number {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new BenchError(`--runs ${values.runs}: expected a positive integer`);
  }
  return runs;
}

/** Prints `rows` as an aligned table and `result` as a JSON line, and writes the JSON to `outFile`. */
export function report(rows: string[][], result: unknown, outFile: string): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const pad = (cell: string, col: number) =>
    col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!);
  for (const r of rows) console.log(r.map(pad).join("  "));
  const json = JSON.stringify(result);
  console.log(json);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${json}\n`);
}

/** Median, extremes and every sample of one measured series. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new BenchError("no samples");
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

/** One side of a comparison: a single timed run that returns its measure (ms unless said). */
export interface Side {
  label: string;
  run(): Promise<number>;
}

/**
 * Runs `a` and `b` once each as a warm-up (not counted), then `runs` times each, alternating
 * which goes first so neither always runs on the other's leftovers (a busy engine, the page
 * cache). The ratio is taken per run (a/b of the same round), so load that shifts during the
 * bench shows in its spread rather than skewing one side.
 */
export async function alternate(
  a: Side,
  b: Side,
  o: { runs: number; warmup?: number; log?(s: string): void },
): Promise<{ a: Stats; b: Stats; ratio: Stats }> {
  const log = o.log ?? (() => {});
  for (let i = 0; i < (o.warmup ?? 1); i++) {
    for (const side of [a, b]) log(`warm-up ${side.label}: ${(await side.run()).toFixed(0)}`);
  }
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const order = i % 2 === 0 ? [a, b] : [b, a];
    for (const side of order) {
      const v = await side.run();
      (side === a ? as : bs).push(v);
      log(`run ${i + 1}/${o.runs} ${side.label}: ${v.toFixed(0)}`);
    }
  }
  return { a: stats(as), b: stats(bs), ratio: stats(as.map((x, i) => x / bs[i]!)) };
}

/** One figure a case reports, with its goal. */
export interface Metric {
  /** e.g. "W3" */
  id: string;
  /** e.g. "context sync, after one change" */
  what: string;
  /** of hln's and the peer's figures: "ms", "MB", "s CPU" */
  unit: string;
  hln: Stats;
  peer?: { label: string; stats: Stats };
  /** hln/peer per run, when there is a peer */
  ratio?: Stats;
  /** e.g. "<= 0.5 x bake" */
  goal: string;
  met: boolean;
  /** what the figure means or why it is missed, in a few words */
  note?: string;
}

export interface CaseOptions {
  runs: number;
  /** one run per side, small inputs, no prune: proves the case still works */
  smoke: boolean;
  log(s: string): void;
  signal: AbortSignal;
}

/** A benchmark case in bench/cases/, run by bench/run.ts. */
export interface BenchCase {
  id: string;
  title: string;
  run(o: CaseOptions): Promise<Metric[]>;
}
