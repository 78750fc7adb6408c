/**
 * Times `hln up` of the official stack web-api-db against `docker compose up -d --wait` of
 * its compose.yaml (the same Dockerfiles and options), on the same engine.
 *
 *   npx tsx bench/up-vs-compose.ts [--runs N] [--smoke]
 *
 * Two cases, each tool timed as a whole command:
 * - no-op: the app is up and nothing changed; up again. hln solves the builds again (all
 *   cached) and keeps every container; compose does not build at all when its images exist.
 * - redeploy: the app was taken down with its volume and images (`hln down -y --volumes`,
 *   `docker compose down -v --rmi local`), the build cache is warm; up again. The images
 *   are rebuilt from the cache, and the database is made anew.
 * A truly cold build needs the build cache pruned, which would disturb everything else on
 * a shared engine: this bench never prunes. The first up of each side (the warm-up) is
 * shown on stderr but not counted.
 *
 * The two apps run side by side under names and host ports of their own, with one random
 * password per bench run (an environment variable for hln, a file for compose, in a temp
 * directory). Both are removed at the end, also on failure.
 * `--smoke` (or BENCH_SMOKE=1) times one run of each case and side, for a test.
 *
 * Prints a table of medians and a JSON line on stdout, progress on stderr, and writes
 * the JSON to bench/out/up-vs-compose.json. A ratio is hln/compose: below 1 means hln won.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BenchError,
  freePort,
  hlnBin,
  hlnBuild,
  median,
  parseRunsOrSmoke,
  preflight,
  report,
  root,
  run,
} from "./lib.js";

type Tool = "hln" | "compose";
type Case = "no-op" | "redeploy";
const cases: Case[] = ["no-op", "redeploy"];

const stackDir = join(root, "stacks", "web-api-db");
const outFile = join(root, "bench", "out", "up-vs-compose.json");

/** One side of the comparison: how to bring its app up, take it down, and reach it. */
interface Side {
  /** Up, timed (ms). */
  up(): Promise<number>;
  /** Down with the app's volume and images. */
  down(): Promise<void>;
  url: string;
}

function hlnSide(app: string, port: number, password: string): Side {
  const hln = (...args: string[]) =>
    run(process.execPath, [hlnBin, "--log-format", "quiet", ...args], root, {
      WEB_API_DB_PASSWORD: password,
    });
  return {
    up: async () => (await hln("up", app, "--dir", stackDir, "--set", `port=${port}`)).ms,
    down: async () => {
      await hln("down", app, "-y", "--volumes");
    },
    url: `http://127.0.0.1:${port}`,
  };
}

/** Compose builds from the same stack directory as hln: the same contexts, so the same build cache. */
function composeSide(project: string, port: number, passwordFile: string): Side {
  const env = { WEB_API_DB_PASSWORD_FILE: passwordFile, WEB_API_DB_PORT: String(port) };
  const compose = (...args: string[]) =>
    // quiet, like hln's quiet log format: output cost stays out of the timing.
    run("docker", ["compose", "--progress", "quiet", "-p", project, ...args], stackDir, env);
  return {
    up: async () => (await compose("up", "-d", "--wait")).ms,
    down: async () => {
      await compose("down", "--volumes", "--rmi", "local");
    },
    url: `http://127.0.0.1:${port}`,
  };
}

/** Both apps must answer through their front end, from the database, or the timings mean nothing. */
async function checkServes(tool: Tool, side: Side): Promise<void> {
  const url = `${side.url}/api/items`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
    throw new BenchError(`${tool}: GET ${url}: ${err.message}`);
  });
  if (res.status !== 200) throw new BenchError(`${tool}: GET ${url} answered ${res.status}`);
  await res.arrayBuffer();
}

function composePreflight(): Promise<void> {
  return run("docker", ["compose", "version"], root).then(
    () => undefined,
    () => {
      throw new BenchError(
        "docker compose not usable: run `bash scripts/engine-up.sh` as root to install its plugin",
      );
    },
  );
}

const stats = (xs: number[]) => ({
  median_ms: Math.round(median(xs)),
  min_ms: Math.round(Math.min(...xs)),
  max_ms: Math.round(Math.max(...xs)),
});

async function main(): Promise<void> {
  const { runs, smoke } = parseRunsOrSmoke(5);
  preflight();
  await composePreflight();
  const how = hlnBuild();
  process.stderr.write(
    `hln up (${how}) vs docker compose up -d --wait, web-api-db, ${runs} run(s)${smoke ? " (smoke)" : ""}\n`,
  );

  const id = randomBytes(4).toString("hex");
  const tmp = mkdtempSync(join(tmpdir(), "hln-bench-up-"));
  const passwordFile = join(tmp, "db-password");
  const password = randomBytes(18).toString("base64url");
  writeFileSync(passwordFile, `${password}\n`);
  // Compose bind-mounts the file with its owner and mode: postgres in the db container must read it.
  chmodSync(passwordFile, 0o644);

  const sides: Record<Tool, Side> = {
    hln: hlnSide(`bench-up-hln-${id}`, await freePort(), password),
    compose: composeSide(`bench-up-compose-${id}`, await freePort(), passwordFile),
  };
  const samples: Record<Case, Record<Tool, number[]>> = {
    "no-op": { hln: [], compose: [] },
    redeploy: { hln: [], compose: [] },
  };
  try {
    for (const tool of ["hln", "compose"] as const) {
      const first = await sides[tool].up();
      await checkServes(tool, sides[tool]);
      process.stderr.write(`warm-up ${tool}: first up ${first.toFixed(0)} ms\n`);
    }
    for (let i = 0; i < runs; i++) {
      // Alternate who goes first so neither always runs on the other's leftovers (page
      // cache, a busy engine). Each leaves its app up, as the next no-op needs.
      const order: Tool[] = i % 2 === 0 ? ["hln", "compose"] : ["compose", "hln"];
      for (const tool of order) {
        const side = sides[tool];
        const noop = await side.up();
        await side.down();
        const redeploy = await side.up();
        await checkServes(tool, side);
        samples["no-op"][tool].push(noop);
        samples.redeploy[tool].push(redeploy);
        process.stderr.write(
          `run ${i + 1}/${runs} ${tool}: no-op ${noop.toFixed(0)} ms, redeploy ${redeploy.toFixed(0)} ms\n`,
        );
      }
    }
  } finally {
    for (const tool of ["hln", "compose"] as const) {
      await sides[tool].down().catch((err: Error) => {
        process.stderr.write(`cleanup ${tool}: ${err.message}\n`);
      });
    }
    rmSync(tmp, { recursive: true, force: true });
  }

  const result = {} as Record<
    Case,
    { hln: ReturnType<typeof stats>; compose: ReturnType<typeof stats>; ratio: number }
  >;
  for (const c of cases) {
    const { hln, compose } = samples[c];
    result[c] = {
      hln: stats(hln),
      compose: stats(compose),
      ratio: Number((median(hln) / median(compose)).toFixed(2)),
    };
  }
  const range = (s: ReturnType<typeof stats>) => `${s.min_ms}-${s.max_ms}`;
  const rows = [
    ["case", "hln ms", "compose ms", "hln/compose", "hln min-max", "compose min-max"],
    ...cases.map((c) => [
      c,
      `${result[c].hln.median_ms}`,
      `${result[c].compose.median_ms}`,
      result[c].ratio.toFixed(2),
      range(result[c].hln),
      range(result[c].compose),
    ]),
  ];
  report(rows, { runs, hln: how, ...result }, outFile);
}

try {
  await main();
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`up-vs-compose: ${msg}`);
  process.exitCode = 1;
}
