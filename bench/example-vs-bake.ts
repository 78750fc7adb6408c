/**
 * Times hln's example stack (stacks/hello) against the same graph written as a
 * `docker buildx bake` file (bench/hello), cold and warm, on the same engine.
 *
 *   npx tsx bench/example-vs-bake.ts [--runs N]
 *
 * Prints a table of medians and a JSON line on stdout, progress on stderr, and writes
 * the JSON to bench/out/example-vs-bake.json. A ratio is hln/bake: below 1 means hln won.
 */
import { join } from "node:path";
import {
  hlnBin,
  hlnBuild,
  median,
  parseRuns,
  preflight,
  pruneEngine,
  report,
  root,
  run,
} from "./lib.js";

type Tool = "hln" | "bake";
type Case = "cold" | "warm";

const bakeDir = join(root, "bench", "hello");
const outFile = join(root, "bench", "out", "example-vs-bake.json");

const commands: Record<Tool, { cmd: string; args: string[]; cwd: string }> = {
  hln: {
    cmd: process.execPath,
    args: [hlnBin, "--log-format", "quiet", "do", "up", "--plan", "stacks/hello"],
    cwd: root,
  },
  // The docker driver cannot show tty progress without a terminal; quiet also keeps
  // output cost out of the timing, like hln's quiet log format.
  bake: { cmd: "docker", args: ["buildx", "bake", "--progress=quiet"], cwd: bakeDir },
};

async function main(): Promise<void> {
  const runs = parseRuns();
  preflight();
  const how = hlnBuild();
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
      await pruneEngine();
      const cold = (await run(cmd, args, cwd)).ms;
      const warm = (await run(cmd, args, cwd)).ms;
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
  report(rows, result, outFile);
}

try {
  await main();
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`example-vs-bake: ${msg}`);
  process.exitCode = 1;
}
