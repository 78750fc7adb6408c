/**
 * W6: `hln up` of the official stack web-api-db against `docker compose up -d --wait` of its
 * compose.yaml (the same Dockerfiles, health checks and order), on the same engine.
 *
 * - no-op: the app is up and nothing changed; up again. Compose does not build when its
 *   images exist (so it would miss a changed source without `--build`), and it starts its
 *   exited migrate job again and waits for it.
 * - cold: the app was taken down with its volume and images, and the engine's build cache
 *   pruned except its cache mounts (BuildKit's prune, filter `type!=exec.cachemount`):
 *   every RUN and COPY runs again, while apt finds the packages
 *   it downloaded before, so the Debian mirror's speed stays out of the figure (the index
 *   download of `apt-get update` does not). In smoke mode nothing is pruned, so this is a
 *   redeploy from a warm build cache.
 *
 * Both apps run side by side under their own names and host ports, with one random password
 * (an environment variable for hln, a 0644 file for compose, in a temporary directory). Each
 * up is checked: GET /api/items through the front end must answer 200. Both apps are removed
 * at the end, also on failure.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEngine } from "../../src/engine/engine.js";
import {
  alternate,
  type BenchCase,
  BenchError,
  type CaseOptions,
  freePort,
  hlnBin,
  type Metric,
  root,
  run,
} from "../lib.js";

const stackDir = join(root, "stacks", "web-api-db");

interface App {
  label: string;
  up(): Promise<number>;
  /** Down with the app's volume and images. */
  down(): Promise<void>;
  url: string;
}

function hlnApp(name: string, port: number, password: string): App {
  const hln = (...args: string[]) =>
    run(process.execPath, [hlnBin, "--log-format", "quiet", ...args], root, {
      WEB_API_DB_PASSWORD: password,
    });
  return {
    label: "hln",
    up: async () => (await hln("up", name, "--dir", stackDir, "--set", `port=${port}`)).ms,
    down: async () => {
      await hln("down", name, "-y", "--volumes");
    },
    url: `http://127.0.0.1:${port}`,
  };
}

/** Compose builds from the same stack directory as hln: the same contexts, so the same cache. */
function composeApp(project: string, port: number, passwordFile: string): App {
  const env = { WEB_API_DB_PASSWORD_FILE: passwordFile, WEB_API_DB_PORT: String(port) };
  const compose = (...args: string[]) =>
    // quiet, like hln's quiet log format: output cost stays out of the timing.
    run("docker", ["compose", "--progress", "quiet", "-p", project, ...args], stackDir, env);
  return {
    label: "compose",
    up: async () => (await compose("up", "-d", "--wait")).ms,
    down: async () => {
      await compose("down", "--volumes", "--rmi", "local");
    },
    url: `http://127.0.0.1:${port}`,
  };
}

/** Both apps must answer through their front end, from the database, or the timing means nothing. */
async function checkServes(app: App): Promise<void> {
  const url = `${app.url}/api/items`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
    throw new BenchError(`${app.label}: GET ${url}: ${err.message}`);
  });
  if (res.status !== 200) throw new BenchError(`${app.label}: GET ${url} answered ${res.status}`);
  await res.arrayBuffer();
}

/**
 * Every build cache record but the cache mounts'. BuildKit's own filter syntax says "not a
 * cache mount"; `docker builder prune --filter` cannot (it only writes key==value).
 */
async function pruneBuildCache(signal: AbortSignal): Promise<void> {
  const engine = await openEngine({ signal });
  try {
    for await (const _ of engine.buildkit.control.prune(
      { all: true, filter: ["type!=exec.cachemount"] },
      { signal },
    )) {
      // Each record removed; only the end matters here.
    }
  } finally {
    engine.close();
  }
}

async function runCase(o: CaseOptions): Promise<Metric[]> {
  await run("docker", ["compose", "version"], root).catch(() => {
    throw new BenchError(
      "docker compose not usable: run `bash scripts/engine-up.sh` as root to install its plugin",
    );
  });
  const id = randomBytes(4).toString("hex");
  const tmp = mkdtempSync(join(tmpdir(), "hln-bench-up-"));
  const passwordFile = join(tmp, "db-password");
  const password = randomBytes(18).toString("base64url");
  writeFileSync(passwordFile, `${password}\n`);
  // Compose bind-mounts the file with its owner and mode: postgres in the db container must read it.
  chmodSync(passwordFile, 0o644);
  const hln = hlnApp(`bench-up-hln-${id}`, await freePort(), password);
  const compose = composeApp(`bench-up-compose-${id}`, await freePort(), passwordFile);

  // Each timed up leaves its app up: the no-op needs it, the cold run takes it down first.
  const noop = (app: App) => ({
    label: app.label,
    run: async () => {
      const ms = await app.up();
      await checkServes(app);
      return ms;
    },
  });
  const cold = (app: App) => ({
    label: app.label,
    run: async () => {
      await app.down();
      if (!o.smoke) await pruneBuildCache(o.signal);
      const ms = await app.up();
      await checkServes(app);
      return ms;
    },
  });
  try {
    const first = [await hln.up(), await compose.up()];
    o.log(
      `first up (not counted): hln ${first[0]!.toFixed(0)} ms, compose ${first[1]!.toFixed(0)} ms`,
    );
    const runs = { runs: o.runs, warmup: o.smoke ? 0 : 1, log: o.log };
    const n = await alternate(noop(hln), noop(compose), runs);
    // A cold round rebuilds every image for minutes on each side: three rounds, not five.
    const coldRuns = Math.min(o.runs, 3);
    const c = await alternate(cold(hln), cold(compose), { ...runs, runs: coldRuns, warmup: 0 });
    const metric = (what: string, r: typeof n, goal: number, note: string): Metric => ({
      id: "W6",
      what,
      unit: "ms",
      hln: r.a,
      peer: { label: "compose", stats: r.b },
      ratio: r.ratio,
      goal: `<= ${goal} x compose`,
      met: r.ratio.median <= goal,
      note,
    });
    return [
      metric("up web-api-db, no-op", n, 0.5, "compose restarts its migrate job"),
      metric(
        o.smoke ? "up web-api-db, redeploy (smoke: cache warm)" : "up web-api-db, cold",
        c,
        0.9,
        o.smoke ? "no prune in smoke mode" : "build cache pruned but its cache mounts",
      ),
    ];
  } finally {
    for (const app of [hln, compose])
      await app.down().catch((err: Error) => o.log(`cleanup ${app.label}: ${err.message}`));
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const benchCase: BenchCase = {
  id: "W6",
  title: "hln up vs docker compose up -d --wait (web-api-db)",
  run: runCase,
};
