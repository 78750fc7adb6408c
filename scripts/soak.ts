/**
 * Soak: does anything grow when hln runs again and again? Two phases, one table.
 *
 *   node --import tsx scripts/soak.ts
 *
 * 1. 100 cached runs of stacks/hello's `up` action in this one process, through the SDK
 *    (runAction), the ledger off so every run opens a BuildKit session and solves on the
 *    engine. Odd runs share one engine connection, as a long-lived library user would;
 *    even runs open and close their own, as each CLI run does.
 * 2. 50 no-op `hln up` of one small app, each its own process (bin/hln.js), the ledger
 *    off so each one solves, checks its images and plans against the engine.
 *
 * Figures are taken before anything, after a warm-up, every 25 runs and at the end: this
 * process's open fds and its RSS after a full gc; on the engine, dockerd's open fds, its
 * goroutines (Docker's /info reports them), and the connections dockerd holds on its
 * socket from this process and from peers that are gone. A BuildKit session lives on a
 * connection hln opens to the Docker socket (/session, /grpc): a session hln leaked keeps
 * that connection open (our fds and "conns from us" grow); one the engine leaked after hln
 * hung up shows as a connection whose peer is gone, plus dockerd fds and goroutines.
 *
 * Flat means, after the warm-up (the first runs load code, fill caches and pools):
 * - our fds within +5: a leak of one per run makes +25 between two samples;
 * - our RSS within +40 MB after gc: V8's heap settles in steps of a few MB (code caches,
 *   old-space growth), and 100 runs that each kept a session's buffers would add far more;
 * - dockerd fds within +10: other clients of the engine (CI runs this alone; on a shared
 *   machine other tests add noise, so each engine figure is the lowest of three reads),
 *   while a session leaked per run holds an fd, +25 fds per 25 runs;
 * - dockerd's goroutines back within +150 of the start at the end of each phase: BuildKit
 *   keeps a finished solve's goroutines for some 10 s (40 quick runs took them from 144 to
 *   426, and 10 s later they were 146 again), so the count during a phase says how fast
 *   runs go, and only its end is judged, once the engine has had up to 15 s to let go; a
 *   session leaked per run keeps a dozen for good, +1,200 over 100 runs;
 * - connections from us: at most 2 more than after the warm-up (the shared engine keeps
 *   its own); connections whose peer is gone: at most 2 (one may be closing as we read);
 * - abort listeners on the signal every run is given: none more (runAction once left one
 *   per run);
 * - the app (phase 2): the same containers and image tags, its state file within +32 kB
 *   (its deploy history is capped), no lock or temporary file left in the state folder.
 * Time is not judged, only printed: this is about growth, and the machine may be loaded.
 * Exits 1 when a figure grows past its bound, 2 when the soak itself cannot run.
 */
import { execFileSync } from "node:child_process";
import { getEventListeners } from "node:events";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { removeApp } from "../src/app/remove-app.js";
import { type Engine, openEngine } from "../src/engine/engine.js";
import { prepareStack } from "../src/stack/prepare-stack.js";
import { runAction } from "../src/stack/run-action.js";
import { type CliResult, runProgram } from "../test/helpers/run-cli.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const sdkRuns = 100;
const cliRuns = 50;
const every = 25;
const socketPath = "/var/run/docker.sock";

setFlagsFromString("--expose-gc");
const gc = (globalThis.gc ?? runInNewContext("gc")) as () => void;

interface Sample {
  label: string;
  fds: number;
  rssMb: number;
  /** abort listeners on the soak's own signal, which every run is given */
  listeners: number;
  dockerdFds?: number;
  goroutines?: number;
  /** the goroutines were read once the engine had let go of finished runs' */
  settled?: boolean;
  connsFromUs?: number;
  connsPeerGone?: number;
  /** phase 2 only: what the app has on the engine and on disk */
  containers?: number;
  imageTags?: number;
  stateBytes?: number;
}

const samples: Sample[] = [];
const controller = new AbortController();
process.once("SIGINT", () => controller.abort(new Error("interrupted")));
const signal = controller.signal;

/** Ends the soak: 1 when something grew or a run went wrong, 2 when the soak cannot run. */
class Stop extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function fail(message: string, code = 2): never {
  throw new Stop(message, code);
}

/** dockerd's pid: the process holding the listening socket at socketPath. */
function dockerdPid(): number | undefined {
  const inode = readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    // Flags 00010000 is __SO_ACCEPTCON: the listening socket, not an accepted one.
    .find((f) => f[7] === socketPath && f[3] === "00010000")?.[6];
  if (inode === undefined) return undefined;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`))
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return Number(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

function socketInodes(pid: number | "self"): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) out.add(m[1]);
    } catch {
      // Closed while we read.
    }
  }
  return out;
}

/**
 * The connections dockerd holds on its socket: from this process, and from peers that no
 * longer exist (hung up while dockerd kept its end). `ss -x` names each end's inode.
 */
function engineConnections(): { fromUs: number; peerGone: number } | undefined {
  let text: string;
  try {
    text = execFileSync("ss", ["-xa"], { encoding: "utf8" });
  } catch {
    return undefined;
  }
  const ours = socketInodes("self");
  const rows = text
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8);
  const live = new Set(rows.map((f) => f[5]));
  let fromUs = 0;
  let peerGone = 0;
  for (const f of rows) {
    if (f[4] !== socketPath || f[1] === "LISTEN") continue;
    const peer = f[7] ?? "";
    if (ours.has(peer)) fromUs++;
    else if (peer === "0" || !live.has(peer)) peerGone++;
  }
  return { fromUs, peerGone };
}

/**
 * dockerd's open fds, less pipes and running containers' stdio fifos and json logs: those
 * belong to processes (build steps, containers) that other clients of the engine start and
 * stop while the soak runs. A session is a socket, and its state files are files: counted.
 */
function dockerdFds(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = "";
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (/^pipe:|\/exec\/containerd\/|-json\.log$/.test(target)) continue;
    n++;
  }
  return n;
}

async function engineFigures(engine: Engine, pid: number | undefined, settleTo?: number) {
  // Other clients of the engine only ever add: the lowest of three reads is the closest to ours.
  const reads: {
    fds?: number;
    goroutines?: number;
    conns?: ReturnType<typeof engineConnections>;
  }[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 300));
    const info = await engine.docker.info({ signal });
    reads.push({
      fds: pid === undefined ? undefined : dockerdFds(pid),
      goroutines: (info as { NGoroutines?: number }).NGoroutines,
      conns: engineConnections(),
    });
  }
  const low = (xs: (number | undefined)[]) =>
    xs.some((x) => x === undefined) ? undefined : Math.min(...(xs as number[]));
  const goroutines = async () =>
    (((await engine.docker.info({ signal })) as { NGoroutines?: number }).NGoroutines ??
      Number.POSITIVE_INFINITY) as number;
  let settled = low(reads.map((r) => r.goroutines));
  if (settleTo !== undefined && settled !== undefined)
    for (let waited = 0; settled > settleTo && waited < 15; waited++) {
      await new Promise((r) => setTimeout(r, 1000));
      settled = Math.min(settled, await goroutines());
    }
  return {
    dockerdFds: low(reads.map((r) => r.fds)),
    goroutines: settled,
    ...(settleTo !== undefined ? { settled: true } : {}),
    connsFromUs: low(reads.map((r) => r.conns?.fromUs)),
    connsPeerGone: low(reads.map((r) => r.conns?.peerGone)),
  };
}

async function sample(
  label: string,
  engine: Engine,
  pid: number | undefined,
  extra: Partial<Sample> = {},
  settleTo?: number,
) {
  // Twice: a first full gc can leave finalizers whose objects the second frees.
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  const s: Sample = {
    label,
    fds: readdirSync("/proc/self/fd").length,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    listeners: getEventListeners(signal, "abort").length,
    ...(await engineFigures(engine, pid, settleTo)),
    ...extra,
  };
  samples.push(s);
  process.stderr.write(
    `soak: ${label}: fds ${s.fds}, rss ${s.rssMb.toFixed(1)} MB, dockerd fds ${s.dockerdFds ?? "?"}, goroutines ${s.goroutines ?? "?"}\n`,
  );
}

/** One cached run of hello's up action; odd runs on the shared engine, even on their own. */
async function sdkRun(
  i: number,
  shared: Engine,
  prepared: Awaited<ReturnType<typeof prepareStack>>,
) {
  const own = i % 2 === 0 ? await openEngine({ signal }) : undefined;
  try {
    const result = (await runAction(
      { engine: own ?? shared, prepared, action: "up", env: process.env, signal },
      async (r) => r.result,
    )) as { report?: string[] };
    if (result.report?.length !== 5) fail(`run ${i}: hello's report is ${JSON.stringify(result)}`);
  } finally {
    own?.close();
  }
}

const smallStack = `import { defineStack } from "hln";
export default defineStack({
  name: "soak-app",
  version: "1.0.0",
  actions: {
    async up({ dag, app }) {
      const image = dag.container().from("busybox").withNewFile("/srv/index.html", "soak");
      app.service("web", image, {
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
      });
    },
  },
});
`;

function hln(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runProgram(process.execPath, [join(repo, "bin/hln.js"), ...args], {
    cwd: repo,
    env,
    signal,
  });
}

async function appFigures(
  engine: Engine,
  app: string,
  stateHome: string,
): Promise<Partial<Sample>> {
  const byLabel = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
  const containers = await engine.docker.json<unknown[]>(
    "GET",
    `/containers/json?all=1&filters=${byLabel}`,
    { signal },
  );
  const byRef = encodeURIComponent(JSON.stringify({ reference: [`hln/${app}/*`] }));
  const images = await engine.docker.json<{ RepoTags?: string[] | null }[]>(
    "GET",
    `/images/json?filters=${byRef}`,
    { signal },
  );
  const root = join(stateHome, "hln", "apps");
  const files = readdirSync(root, { recursive: true }).map(String);
  const state = files.find((f) => f.endsWith(`${app}.json`));
  const stray = files.filter((f) => f.includes(".lock") || f.includes(".tmp"));
  if (stray.length > 0) fail(`files left in the state folder: ${stray.join(", ")}`, 1);
  return {
    containers: containers.length,
    imageTags: images.flatMap((i) => i.RepoTags ?? []).length,
    stateBytes: state === undefined ? 0 : readFileSync(join(root, state)).length,
  };
}

function table(): string {
  const cols: [string, (s: Sample) => string][] = [
    ["checkpoint", (s) => s.label],
    ["fds", (s) => String(s.fds)],
    ["rss MB", (s) => s.rssMb.toFixed(1)],
    ["signal listeners", (s) => String(s.listeners)],
    ["dockerd fds*", (s) => String(s.dockerdFds ?? "n/a")],
    ["goroutines", (s) => `${s.goroutines ?? "n/a"}${s.settled ? " (settled)" : ""}`],
    ["conns from us", (s) => String(s.connsFromUs ?? "n/a")],
    ["conns peer gone", (s) => String(s.connsPeerGone ?? "n/a")],
    ["app containers", (s) => String(s.containers ?? "")],
    ["app image tags", (s) => String(s.imageTags ?? "")],
    ["state bytes", (s) => String(s.stateBytes ?? "")],
  ];
  const cells = [cols.map(([h]) => h), ...samples.map((s) => cols.map(([, f]) => f(s)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  const note =
    "\n* less pipes and running containers' stdio fifos and logs; engine figures: the lowest of three reads; goroutines at a phase's end: after up to 15 s to settle";
  return cells
    .map((r) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  "),
    )
    .join("\n")
    .concat(note);
}

interface Bound {
  name: string;
  of: (s: Sample) => number | undefined;
  plus: number;
}

const bounds: Bound[] = [
  { name: "fds", of: (s) => s.fds, plus: 5 },
  { name: "rss MB", of: (s) => s.rssMb, plus: 40 },
  // Each run adds its listeners to the caller's signal and must take them all off again.
  { name: "signal listeners", of: (s) => s.listeners, plus: 0 },
  { name: "dockerd fds", of: (s) => s.dockerdFds, plus: 10 },
  { name: "conns from us", of: (s) => s.connsFromUs, plus: 2 },
];

const goroutinesPlus = 150;

/** What grew past its bound between `base` and the samples after it. */
function growth(base: Sample, later: Sample[], extra: Bound[] = []): string[] {
  const out: string[] = [];
  for (const b of [...bounds, ...extra]) {
    const from = b.of(base);
    if (from === undefined) continue;
    for (const s of later) {
      const to = b.of(s);
      if (to !== undefined && to > from + b.plus) {
        out.push(
          `${b.name} grew from ${from.toFixed(b.name === "rss MB" ? 1 : 0)} (${base.label}) to ${to.toFixed(b.name === "rss MB" ? 1 : 0)} (${s.label}), more than +${b.plus}`,
        );
        break;
      }
    }
  }
  const start = samples[0]?.goroutines;
  for (const s of later)
    if (s.settled && start !== undefined && (s.goroutines ?? 0) > start + goroutinesPlus)
      out.push(
        `goroutines are ${s.goroutines} at ${s.label}, 15 s after, against ${start} at the start: more than +${goroutinesPlus}`,
      );
  for (const s of later)
    if ((s.connsPeerGone ?? 0) > 2)
      out.push(`dockerd holds ${s.connsPeerGone} connections whose client is gone (${s.label})`);
  return out;
}

/** At a phase's last run, the goroutine ceiling the engine is given time to settle to. */
function settleAt(run: number, last: number): number | undefined {
  const start = samples[0]?.goroutines;
  return run === last && start !== undefined ? start + goroutinesPlus : undefined;
}

async function main(): Promise<number> {
  const pid = dockerdPid();
  if (pid === undefined)
    process.stderr.write(
      `soak: no process found holding ${socketPath}: dockerd's fds are not read\n`,
    );
  const shared = await openEngine({ signal }).catch((err: Error) =>
    fail(`no engine: ${err.message}`),
  );
  const work = mkdtempSync(join(tmpdir(), "hln-soak-"));
  const app = `soak-${process.pid}`;
  const stateHome = join(work, "state");
  try {
    await sample("start", shared, pid);

    // Phase 1: the SDK in this process.
    const hello = await prepareStack("hello", { env: process.env, signal });
    const warmUp = 4;
    for (let i = 1; i <= warmUp; i++) await sdkRun(i, shared, hello);
    await sample(`sdk warm-up (${warmUp} runs)`, shared, pid);
    const sdkBase = samples.length - 1;
    const sdkStarted = performance.now();
    for (let i = 1; i <= sdkRuns; i++) {
      await sdkRun(i, shared, hello);
      if (i % every === 0) await sample(`sdk run ${i}`, shared, pid, {}, settleAt(i, sdkRuns));
    }
    process.stderr.write(
      `soak: ${sdkRuns} sdk runs took ${((performance.now() - sdkStarted) / 1000).toFixed(0)} s\n`,
    );
    const sdkGrowth = growth(samples[sdkBase] as Sample, samples.slice(sdkBase + 1));

    // Phase 2: no-op hln up, each its own process.
    const stackDir = join(work, "stack");
    mkdirSync(stackDir);
    writeFileSync(join(stackDir, "stack.ts"), smallStack);
    const env = {
      ...process.env,
      XDG_STATE_HOME: stateHome,
      HLN_NO_LEDGER: "1",
      NO_COLOR: "1",
      CI: "true",
    };
    const upArgs = ["--log-format", "quiet", "up", app, "--dir", stackDir, "-o", "json"];
    // The first deploys; the second is the first no-op, and warms what a no-op touches.
    for (const n of [1, 2]) {
      const r = await hln(upArgs, env);
      if (r.code !== 0) fail(`hln up ${app} (warm-up ${n}) exited ${r.code}:\n${r.stderr}`);
    }
    await sample(
      "up warm-up (deploy + 1 no-op)",
      shared,
      pid,
      await appFigures(shared, app, stateHome),
    );
    const upBase = samples.length - 1;
    const upStarted = performance.now();
    for (let i = 1; i <= cliRuns; i++) {
      const r = await hln(upArgs, env);
      if (r.code !== 0) fail(`no-op hln up ${i} exited ${r.code}:\n${r.stderr}`, 1);
      if ((JSON.parse(r.stdout) as { unchanged?: boolean }).unchanged !== true)
        fail(`no-op hln up ${i} changed the app:\n${r.stdout}\n${r.stderr}`, 1);
      if (i % every === 0)
        await sample(
          `up run ${i}`,
          shared,
          pid,
          await appFigures(shared, app, stateHome),
          settleAt(i, cliRuns),
        );
    }
    process.stderr.write(
      `soak: ${cliRuns} no-op ups took ${((performance.now() - upStarted) / 1000).toFixed(0)} s\n`,
    );
    const exact = (name: string, of: (s: Sample) => number | undefined): Bound => ({
      name,
      of,
      plus: 0,
    });
    const upGrowth = growth(samples[upBase] as Sample, samples.slice(upBase + 1), [
      exact("app containers", (s) => s.containers),
      exact("app image tags", (s) => s.imageTags),
      // The deploy history is capped (state-store.ts historyLimit); a record is ~0.5 kB.
      { name: "state bytes", of: (s) => s.stateBytes, plus: 32 * 1024 },
    ]);

    await removeApp(shared.docker, app, { volumes: true, signal });
    await sample("end (app removed)", shared, pid);
    process.stdout.write(`${table()}\n`);
    const grown = [...sdkGrowth.map((g) => `sdk: ${g}`), ...upGrowth.map((g) => `up: ${g}`)];
    for (const g of grown) process.stdout.write(`soak: GREW ${g}\n`);
    process.stdout.write(grown.length === 0 ? "soak: flat\n" : "");
    return grown.length === 0 ? 0 : 1;
  } catch (err) {
    if (samples.length > 0) process.stdout.write(`${table()}\n`);
    await removeApp(shared.docker, app, { volumes: true }).catch(() => {});
    throw err;
  } finally {
    shared.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `soak: ${err instanceof Stop ? err.message : ((err as Error).stack ?? err)}\n`,
    );
    process.exit(err instanceof Stop ? err.code : 2);
  },
);
