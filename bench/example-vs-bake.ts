/**
 * Times hln's example stack (examples/hello) against the same graph written as a
 * `docker buildx bake` file (bench/hello), cold and warm, on the same engine.
 *
 *   npx tsx bench/example-vs-bake.ts [--runs N]
 *
 * Prints a table of medians and a JSON line on stdout, progress on stderr, and writes
 * the JSON to bench/out/example-vs-bake.json. A ratio is hln/bake: below 1 means hln won.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

type Tool = "hln" | "bake";
type Case = "cold" | "warm";

const root = fileURLToPath(new URL("..", import.meta.url));
const bakeDir = join(root, "bench", "hello");
const outFile = join(root, "bench", "out", "example-vs-bake.json");
const hlnBin = join(root, "bin", "hln.js");

const commands: Record<Tool, { cmd: string; args: string[]; cwd: string }> = {
  hln: {
    cmd: process.execPath,
    args: [hlnBin, "--log-format", "quiet", "do", "up", "--plan", "examples/hello"],
    cwd: root,
  },
  // The docker driver cannot show tty progress without a terminal; quiet also keeps
  // output cost out of the timing, like hln's quiet log format.
  bake: { cmd: "docker", args: ["buildx", "bake", "--progress=quiet"], cwd: bakeDir },
};

class BenchError extends Error {}

/** Runs a command to completion; resolves with its wall time, rejects with its last stderr line. */
function timed(cmd: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - start;
      if (code === 0) return resolve(ms);
      const last = stderr.trim().split("\n").at(-1) ?? "";
      reject(new BenchError(`${[cmd, ...args].join(" ")} exited ${code}: ${last}`));
    });
  });
}

/** Empties the engine's whole build cache. Both tools use this one BuildKit, so one prune serves both. */
async function prune(): Promise<void> {
  await timed(process.execPath, [hlnBin, "engine", "prune", "--all"], root);
}

/** Fails early, in one line, when either side could not run at all. */
function preflight(): void {
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
  // Another driver (docker-container, remote) would run bake on a different BuildKit,
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function parseRuns(): number {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new BenchError(`--runs ${values.runs}: expected a positive integer`);
  }
  return runs;
}

async function main(): Promise<void> {
  const runs = parseRuns();
  preflight();
  const how = existsSync(join(root, "dist", "cli", "main.js")) ? "dist build" : "sources via tsx";
  process.stderr.write(`hln (${how}) vs docker buildx bake, ${runs} run(s)\n`);

  const samples: Record<Case, Record<Tool, number[]>> = {
    cold: { hln: [], bake: [] },
    warm: { hln: [], bake: [] },
  };
  for (let i = 0; i < runs; i++) {
    // Each tool gets prune, cold, warm back to back: a prune between one tool's cold and
    // warm runs would make "warm" cold again. Alternate who goes first so neither always
    // runs on the other's leftovers (page cache, a busy engine).
    const order: Tool[] = i % 2 === 0 ? ["hln", "bake"] : ["bake", "hln"];
    for (const tool of order) {
      const { cmd, args, cwd } = commands[tool];
      await prune();
      const cold = await timed(cmd, args, cwd);
      const warm = await timed(cmd, args, cwd);
      samples.cold[tool].push(cold);
      samples.warm[tool].push(warm);
      process.stderr.write(
        `run ${i + 1}/${runs} ${tool}: cold ${cold.toFixed(0)} ms, warm ${warm.toFixed(0)} ms\n`,
      );
    }
  }

  const result = {} as Record<Case, { hln_ms: number; bake_ms: number; ratio: number }>;
  for (const c of ["cold", "warm"] as const) {
    const hln = median(samples[c].hln);
    const bake = median(samples[c].bake);
    result[c] = {
      hln_ms: Math.round(hln),
      bake_ms: Math.round(bake),
      ratio: Number((hln / bake).toFixed(2)),
    };
  }

  const rows = [
    ["case", "hln ms", "bake ms", "hln/bake"],
    ...(["cold", "warm"] as const).map((c) => [
      c,
      `${result[c].hln_ms}`,
      `${result[c].bake_ms}`,
      result[c].ratio.toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const pad = (cell: string, col: number) =>
    col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!);
  for (const r of rows) console.log(r.map(pad).join("  "));

  const json = JSON.stringify(result);
  console.log(json);
  mkdirSync(join(root, "bench", "out"), { recursive: true });
  writeFileSync(outFile, `${json}\n`);
}

try {
  await main();
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`example-vs-bake: ${msg}`);
  process.exitCode = 1;
}
