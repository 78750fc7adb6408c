/**
 * Runs the benchmark cases in bench/cases/ and prints each goal with hln's figure, the
 * peer's from the same run, and their ratio.
 *
 *   npm run bench                       # every case, 5 alternating runs per side
 *   npm run bench -- --only W1,W5       # some cases
 *   npm run bench -- --runs 7
 *   npm run bench -- --smoke            # one run per side, small inputs: proves it works
 *
 * Progress goes to stderr; the table, in Markdown for bench/RESULTS.md, to stdout; every
 * sample as JSON to bench/out/results.json. Exits 1 when a case fails to run, not
 * when a goal is missed: a missed goal is a finding, reported in the table.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import {
  type BenchCase,
  BenchError,
  ensureBuilt,
  type Metric,
  preflight,
  root,
  type Stats,
} from "./lib.js";

const casesDir = join(root, "bench", "cases");
const outFile = join(root, "bench", "out", "results.json");

function options(): { runs: number; smoke: boolean; only?: Set<string> } {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      smoke: { type: "boolean" },
      only: { type: "string" },
    },
  });
  const smoke = values.smoke === true || process.env.BENCH_SMOKE === "1";
  const runs = smoke ? 1 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new BenchError(`--runs ${values.runs}: expected a positive integer`);
  const only = values.only
    ? new Set(values.only.split(",").map((s) => s.trim().toUpperCase()))
    : undefined;
  return { runs, smoke, only };
}

async function loadCases(only?: Set<string>): Promise<BenchCase[]> {
  const files = readdirSync(casesDir)
    .filter((f) => f.endsWith(".ts"))
    .sort();
  const cases: BenchCase[] = [];
  for (const f of files) {
    const mod = (await import(join(casesDir, f))) as { benchCase?: BenchCase };
    if (!mod.benchCase) throw new BenchError(`bench/cases/${f} exports no benchCase`);
    if (!only || only.has(mod.benchCase.id.toUpperCase())) cases.push(mod.benchCase);
  }
  if (only) {
    const unknown = [...only].filter((id) => !cases.some((c) => c.id.toUpperCase() === id));
    if (unknown.length > 0) throw new BenchError(`--only: no case ${unknown.join(", ")}`);
  }
  return cases;
}

function figure(s: Stats, unit: string): string {
  const n = (x: number) => (unit === "ms" ? x.toFixed(0) : Number(x.toPrecision(3)).toString());
  return s.samples.length > 1 ? `${n(s.median)} (${n(s.min)}–${n(s.max)})` : n(s.median);
}

function ratio(s: Stats | undefined): string {
  if (!s) return "";
  return s.samples.length > 1
    ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
    : s.median.toFixed(2);
}

function rowsOf(metrics: Metric[]): string[][] {
  return [
    ["case", "what", "hln", "peer", "ratio", "goal", "met"],
    ...metrics.map((m) => [
      m.id,
      m.what,
      `${figure(m.hln, m.unit)} ${m.unit}`,
      m.peer ? `${m.peer.label} ${figure(m.peer.stats, m.unit)} ${m.unit}` : "",
      ratio(m.ratio),
      m.goal,
      m.met ? "yes" : "NO",
    ]),
  ];
}

function markdown(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head!), line(head!.map(() => "---")), ...body.map(line)].join("\n");
}

/** The engine, tools and machine the figures come from, for RESULTS.md. */
function machine(): string {
  const out = (cmd: string, args: string[]) =>
    spawnSync(cmd, args, { encoding: "utf8" }).stdout?.trim() ?? "?";
  return [
    `Docker ${out("docker", ["version", "--format", "{{.Server.Version}}"])}`,
    `buildx ${out("docker", ["buildx", "version"]).split(" ")[1] ?? "?"}`,
    `compose ${out("docker", ["compose", "version", "--short"])}`,
    `Node.js ${process.version}`,
    `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `hln ${out("git", ["-C", root, "rev-parse", "--short", "HEAD"])}`,
    `load ${out("cat", ["/proc/loadavg"]).split(" ").slice(0, 3).join(" ")}`,
  ].join(", ");
}

async function main(): Promise<void> {
  const { runs, smoke, only } = options();
  await ensureBuilt((s) => process.stderr.write(`${s}\n`));
  preflight();
  const cases = await loadCases(only);
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const started = new Date().toISOString();
  const metrics: Metric[] = [];
  let failed = 0;
  for (const c of cases) {
    process.stderr.write(`${c.id} ${c.title}${smoke ? " (smoke)" : `, ${runs} runs`}\n`);
    try {
      metrics.push(
        ...(await c.run({
          runs,
          smoke,
          signal: stop.signal,
          log: (s) => process.stderr.write(`  ${c.id} ${s}\n`),
        })),
      );
    } catch (err) {
      failed++;
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`${c.id} failed: ${msg.split("\n")[0]}\n`);
    }
    if (stop.signal.aborted) break;
  }
  const rows = rowsOf(metrics);
  const about = machine();
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ started, smoke, runs, machine: about, metrics })}\n`);
  console.log(`${markdown(rows)}\n\n${started}, ${runs} run(s) per side: ${about}`);
  if (failed > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
