/**
 * Ctrl-C during `hln up`, at each phase: building, exporting the image to the Docker
 * engine's store, converging (a service being replaced) and waiting for health. Each time
 * hln exits 130 soon, the engine stops the work it was doing for it, the app's lock is
 * gone, no process the run started outlives it, every service still runs (as it was, or
 * as it was meant to become), and `hln up` right after succeeds.
 *
 * One app goes through the phases in turn: each test's last `hln up` is the deployed app
 * the next one starts from.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, it, type TestContext } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { appContainers, appImageTags } from "../helpers/app-on-engine.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import { processes, until } from "../helpers/processes.js";
import { repoRoot, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "up-interrupt",
  version: "1.0.0",
  inputs: {
    port: { type: "number" },
    greeting: { type: "string", default: "hello" },
    slowBuild: { type: "string", default: "" },
    bigLayer: { type: "string", default: "" },
    dbHealth: { type: "enum", values: ["ok", "slow"], default: "ok" },
  },
  actions: {
    async up({ dag, inputs, app }) {
      const base = dag.container().from("busybox");
      // db stops at once on SIGTERM; web (busybox httpd as PID 1) ignores it, so stopping
      // web takes its whole grace period.
      const db = app.service("db", base.withNewFile("/www/index.html", "db"), {
        command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"],
        healthcheck: {
          test: inputs.dbHealth === "slow" ? ["sh", "-c", "sleep 30"] : ["wget", "-qO-", "http://127.0.0.1/"],
          interval: "300ms",
          timeout: "40s",
          retries: 3,
        },
      });
      let page = base.withNewFile("/www/index.html", inputs.greeting);
      if (inputs.slowBuild) page = page.withExec(["sh", "-c", "sleep 120; echo " + inputs.slowBuild]);
      // Random bytes do not compress: the engine takes seconds to export this layer.
      if (inputs.bigLayer)
        page = page.withExec(["sh", "-c", "head -c 100000000 /dev/urandom > /big; echo " + inputs.bigLayer]);
      app.service("web", page, {
        command: ["httpd", "-f", "-p", "80", "-h", "/www"],
        ports: [{ host: inputs.port, container: 80 }],
        env: { DB_HOST: db.hostname },
        dependsOn: { db: "healthy" },
      });
    },
  },
});
`;

const dir = tempDir("hln-up-interrupt-");
writeFileSync(join(dir, "stack.ts"), stackSource);
const stateHome = join(dir, "state");
const env = { XDG_STATE_HOME: stateHome, HLN_NO_LEDGER: "1" };
const app = `t${nonce()}`;
let port = 0;
let engine: Engine;

interface Inspected {
  Id: string;
  Name: string;
  State: { StartedAt: string; Status: string };
}

/** The app's containers by name, as the engine has them now. */
function containers(of = app): Promise<Inspected[]> {
  return appContainers<Inspected>(engine.docker, of);
}

/**
 * Every service there, running under its own name, and nothing else of the app: each
 * one's container and when it started.
 */
async function checkAllRunning(): Promise<{ id: string; started: string }[]> {
  const now = await containers();
  assert.deepEqual(
    now.map((c) => [c.Name, c.State.Status]),
    [
      [`/hln-${app}-db`, "running"],
      [`/hln-${app}-web`, "running"],
    ],
  );
  return now.map((c) => ({ id: c.Id, started: c.State.StartedAt }));
}

function imageTags(of = app): Promise<string[]> {
  return appImageTags(engine.docker, of);
}

function up(args: string[] = []) {
  return runCli(
    ["--log-format", "plain", "up", app, "--dir", dir, "--set", `port=${port}`, ...args],
    {
      env,
    },
  );
}

/** `hln up` right after: it succeeds and the app serves again. */
async function upAgain(): Promise<void> {
  const r = await up();
  assert.equal(r.code, 0, `up after Ctrl-C failed:\n${r.stderr}`);
  await checkAllRunning();
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  assert.equal(page, "hello");
}

/** A process's name, parent and start time (fields 2, 4 and 22 of /proc/PID/stat), while it runs. */
function procStat(pid: number): { name: string; ppid: number; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // A zombie has exited: only its parent has not looked yet.
  if (fields[0] === "Z") return undefined;
  return { name, ppid: Number(fields[1]), start: fields[19] ?? "" };
}

interface Proc {
  pid: number;
  name: string;
  start: string;
}

/** Every process below `pid`, each with its start time so a reused pid is not taken for it. */
function descendants(pid: number): Proc[] {
  const all = readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map((n) => ({ pid: Number(n), stat: procStat(Number(n)) }));
  const out: Proc[] = [];
  const walk = (parent: number) => {
    for (const p of all)
      if (p.stat?.ppid === parent) {
        out.push({ pid: p.pid, name: p.stat.name, start: p.stat.start });
        walk(p.pid);
      }
  };
  walk(pid);
  return out;
}

function stillRunning(procs: readonly Proc[]): Proc[] {
  return procs.filter((p) => procStat(p.pid)?.start === p.start);
}

/**
 * `hln up` in the background with `args`, for Ctrl-C: its stderr so far, a wait for a line
 * in it, and how long it took to exit after the first SIGINT.
 */
/** Runs a test's failure may leave going: they are killed after each test. */
const started: ChildProcess[] = [];

function startUp(args: string[], name = app) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(repoRoot, "bin/hln.js"),
      "--log-format",
      "plain",
      "up",
      name,
      "--dir",
      dir,
      "--set",
      `port=${port}`,
      ...args,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  started.push(child);
  let stderr = "";
  // Told as soon as the text arrives: a Ctrl-C meant for a phase must not come a poll late.
  const waiting: { text: string; resolve: () => void }[] = [];
  child.stderr?.on("data", (d) => {
    stderr += d;
    for (const w of waiting.filter((x) => stderr.includes(x.text))) w.resolve();
  });
  let sentAt = 0;
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) =>
    child.once("exit", (code) => resolve({ code, ms: performance.now() - sentAt })),
  );
  let below: Proc[] = [];
  return {
    child,
    stderr: () => stderr,
    printed: (text: string) =>
      new Promise<void>((resolve, reject) => {
        // Kill-safety, not a speed check.
        const timer = setTimeout(
          () => reject(new Error(`hung: no "${text}" after 180 s:\n${stderr}`)),
          180_000,
        );
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        if (stderr.includes(text)) return done();
        waiting.push({ text, resolve: done });
        child.once("exit", () => {
          if (!stderr.includes(text))
            reject(new Error(`hln up ended before "${text}":\n${stderr}`));
        });
      }),
    /** Ctrl-C, noting first which processes run below hln. */
    interrupt() {
      below = descendants(child.pid ?? 0);
      sentAt = performance.now();
      child.kill("SIGINT");
    },
    /**
     * Waits for the exit (kill-safety 20 s, for a goal of 2 s); checks the code, the lock
     * and the processes; prints the time it took.
     */
    async exit(t: TestContext, phase: string): Promise<number> {
      const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const { code, ms } = await exited;
      clearTimeout(guard);
      t.diagnostic(`${phase}: exit ${code} ${(ms / 1000).toFixed(2)} s after Ctrl-C`);
      assert.ok(ms < 20_000, `hung: hln up was still running 20 s after Ctrl-C:\n${stderr}`);
      assert.equal(code, 130, stderr);
      assert.match(stderr, /hln: interrupted, cancelling/);
      t.diagnostic(
        `${phase}: processes below hln at Ctrl-C: ${below.map((p) => p.name).join(", ") || "none"}`,
      );
      // Each is told by the end of its pipe to hln; it may take a moment to go.
      await until(
        "the processes hln started are gone",
        () => stillRunning(below).length === 0,
        5000,
      ).catch(() => {
        assert.deepEqual(stillRunning(below), [], "processes hln started outlived it");
      });
      const locks = existsSync(join(stateHome, "hln", "apps"))
        ? readdirSync(join(stateHome, "hln", "apps"), { recursive: true })
            .map(String)
            .filter((f) => f.includes(`${name}.lock`))
        : [];
      assert.deepEqual(locks, [], "the app's lock is still there");
      return ms;
    },
  };
}

/**
 * How long the container's first stop lasted on the engine since `sinceS` (Unix seconds):
 * from its SIGTERM to its end, by the engine's own events.
 */
async function stopLasted(id: string, sinceS: number): Promise<number> {
  const filters = encodeURIComponent(
    JSON.stringify({ container: [id], type: ["container"], event: ["kill", "die"] }),
  );
  const until = Math.ceil(Date.now() / 1000) + 1;
  const res = await engine.docker.stream(
    "GET",
    `/events?since=${sinceS}&until=${until}&filters=${filters}`,
  );
  let text = "";
  for await (const c of res) text += c;
  const events = text
    .split("\n")
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          Action: string;
          timeNano: number;
          Actor: { Attributes: Record<string, string> };
        },
    );
  const term = events.find((e) => e.Action === "kill" && e.Actor.Attributes.signal === "15");
  const died = events.find((e) => e.Action === "die" && term && e.timeNano >= term.timeNano);
  assert.ok(term && died, `no stop of ${id} in the engine's events: ${text}`);
  return (died.timeNano - term.timeNano) / 1e6;
}

/**
 * The containerd content store's ingests of the engine's managed containerd: a layer being
 * exported is written there until it is committed, and goes when its export is cancelled.
 */
async function ingestDir(): Promise<string> {
  const info = await engine.docker.json<{ DockerRootDir: string }>("GET", "/info");
  return join(info.DockerRootDir, "containerd/daemon/io.containerd.content.v1.content/ingest");
}

function ingests(at: string): string[] {
  return existsSync(at) ? readdirSync(at) : [];
}

before(async () => {
  engine = await requireEngine();
  port = await freePort();
  const r = await up();
  assert.equal(r.code, 0, `first up failed:\n${r.stderr}`);
});

afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

after(async () => {
  for (const name of [app, `${app}-new`]) await runCli(["down", name, "-y", "--volumes"], { env });
  engine.close();
});

describe("Ctrl-C during hln up", () => {
  it("while building: the step stops on the engine, the app stays as it was", async (t) => {
    const before = await checkAllRunning();
    const tags = await imageTags();
    const marker = `slow-build-${nonce()}`;
    const run = startUp(["--set", `slowBuild=${marker}`, "--set", "greeting=changed"]);
    // The step's shell, not hln, whose own arguments hold the marker too.
    const step = `echo ${marker}`;
    await until("the slow step runs", () => processes(step).length > 0, 180_000).catch((err) => {
      throw new Error(`${err.message}; hln up printed:\n${run.stderr()}`);
    });
    run.interrupt();
    await run.exit(t, "building");
    // Kill-safety well under the step's 120 s: the engine stopped it.
    await until("the slow step is stopped", () => processes(step).length === 0);
    assert.deepEqual(await checkAllRunning(), before);
    assert.deepEqual(await imageTags(), tags);
    await upAgain();
  });

  it("while building a first deploy: no app, and no images, are left", async (t) => {
    const fresh = `${app}-new`;
    const marker = `slow-build-${nonce()}`;
    const run = startUp(["--set", `slowBuild=${marker}`], fresh);
    const step = `echo ${marker}`;
    await until("the slow step runs", () => processes(step).length > 0, 180_000);
    run.interrupt();
    await run.exit(t, "building a first deploy");
    await until("the slow step is stopped", () => processes(step).length === 0);
    assert.deepEqual(await containers(fresh), []);
    assert.deepEqual(await imageTags(fresh), []);
  });

  it("while exporting the image: the export stops on the engine, the app stays as it was", async (t) => {
    const before = await checkAllRunning();
    const tags = await imageTags();
    const at = await ingestDir();
    const earlier = new Set(ingests(at));
    const run = startUp(["--set", `bigLayer=${nonce()}`, "--set", "greeting=changed"]);
    await run.printed("exporting layers");
    const ours = () => ingests(at).filter((i) => !earlier.has(i));
    await until(
      `the layer is written to the engine's content store (${at})`,
      () => ours().length > 0,
    );
    const writing = ours();
    run.interrupt();
    await run.exit(t, "exporting");
    await until("the engine stops writing the layer", () =>
      writing.every((i) => !existsSync(join(at, i))),
    );
    assert.deepEqual(await checkAllRunning(), before);
    assert.deepEqual(await imageTags(), tags);
    await upAgain();
  });

  it("while a service is replaced: it runs, old or new, never neither", async (t) => {
    const before = await checkAllRunning();
    const sinceS = Math.floor(Date.now() / 1000) - 1;
    const run = startUp(["--set", "greeting=replaced"]);
    await run.printed("web: recreating");
    run.interrupt();
    await run.exit(t, "converging (replacing web)");
    const now = await checkAllRunning();
    assert.deepEqual(now[0], before[0], "db was not to change");
    // hln ended the old web's stop itself: its 10 s grace (web ignores SIGTERM) was not
    // waited out before it could be started again.
    const lasted = await stopLasted(before[1]?.id ?? "", sinceS);
    t.diagnostic(`the old web's stop lasted ${(lasted / 1000).toFixed(2)} s on the engine`);
    assert.ok(lasted < 9000, `the old web's stop ran its whole grace (${lasted} ms)`);
    // Started again (the old one put back) or anew (replaced); not the old one still in
    // its stop's grace period, about to be killed.
    assert.notEqual(now[1]?.started, before[1]?.started);
    assert.match(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /^(hello|replaced)$/);
    await upAgain();
  });

  it("twice while a service is replaced: the second exits at once, and up repairs the app", async (t) => {
    const before = await checkAllRunning();
    const run = startUp(["--set", "greeting=replaced"]);
    await run.printed("web: recreating");
    run.interrupt();
    // While the first puts the previous container back.
    await run.printed("interrupted, cancelling");
    run.interrupt();
    await run.exit(t, "converging, the second Ctrl-C");
    t.diagnostic(
      `left: ${(await containers()).map((c) => `${c.Name} ${c.State.Status}`).join(", ")}`,
    );
    // Forced out, hln left the old web's stop to the engine, which ends it at the close
    // of its 10 s grace (kill-safety 30 s); only then is what is left settled.
    const web = before[1]?.id ?? "";
    const end = Date.now() + 30_000;
    for (;;) {
      const c = await engine.docker
        .json<Inspected>("GET", `/containers/${web}/json`)
        .catch(() => undefined);
      if (c?.State.Status !== "running" || c.State.StartedAt !== before[1]?.started) break;
      assert.ok(Date.now() < end, "hung: the old web's stop never ended on the engine");
      await new Promise((r) => setTimeout(r, 200));
    }
    await upAgain();
  });

  it("while waiting for health: the new service stays, the rest as it was", async (t) => {
    const before = await checkAllRunning();
    const run = startUp(["--set", "dbHealth=slow"]);
    await run.printed("db: waiting until healthy");
    run.interrupt();
    await run.exit(t, "waiting for health");
    const now = await checkAllRunning();
    assert.notEqual(now[0]?.id, before[0]?.id, "db was recreated before the wait");
    assert.deepEqual(now[1], before[1], "web was not to change");
    await upAgain();
  });
});
