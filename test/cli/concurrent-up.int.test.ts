/**
 * `hln up` run many at once on one engine: apps side by side share the build cache (a
 * common step runs once, not once per app); two runs of one app take turns on its lock,
 * the second saying who holds it; a lock left by a run killed with SIGKILL is taken over.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { removeApp } from "../../src/app/remove-app.js";
import type { Engine } from "../../src/engine/engine.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { processes, until } from "../helpers/processes.js";
import { repoRoot } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

// The shared step's command holds this run's nonce, so its cache key is new to the engine
// and the first app really runs it. It writes a random token: had it run once per app, the
// apps' images would hold different tokens.
const run = nonce();
const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "concurrent-demo",
  version: "1.0.0",
  inputs: {
    slow: { type: "string", default: "" },
    slowS: { type: "number", default: 8 },
  },
  actions: {
    async up({ dag, inputs, app }) {
      let image = dag.container().from("busybox").withExec(["sh", "-c",
        "sleep 3; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\\\n' > /token; echo shared-${run}"]);
      if (inputs.slow) image = image.withExec(["sh", "-c", "sleep " + inputs.slowS + "; echo " + inputs.slow]);
      app.service("s", image, {
        command: ["sh", "-c", "echo token=$(cat /token); trap 'exit 0' TERM; while :; do sleep 1; done"],
      });
    },
  },
});
`;

const dir = tempDir("hln-concurrent-");
const stackDir = join(dir, "stack");
mkdirSync(stackDir);
writeFileSync(join(stackDir, "stack.ts"), stackSource);
const stateHome = join(dir, "state");
const env = { XDG_STATE_HOME: stateHome };
const apps: string[] = [];
let engine: Engine;

function newApp(): string {
  const app = `c${nonce()}`;
  apps.push(app);
  return app;
}

/** A running `hln` whose stderr the test reads as it comes. */
function start(args: string[]) {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(repoRoot, "bin/hln.js"), "--log-format", "plain", ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env, NO_COLOR: "1", CI: "true", HLN_NO_LEDGER: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  let stdout = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const began = performance.now();
  let ms = 0;
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      ms = performance.now() - began;
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  // Kill-safety, not a speed check: a run still going after this long hung. Generous: on a
  // loaded two-core machine running the sources through tsx, one up here took 150 s.
  const guard = setTimeout(() => child.kill("SIGKILL"), 400_000);
  void exited.then(() => clearTimeout(guard));
  return {
    child,
    pid: child.pid ?? 0,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    ms: () => ms,
    /** Resolves once stderr holds `text`; fails if the run ends first. */
    printed: (text: string) =>
      until(
        `hln ${args.join(" ")} printed ${JSON.stringify(text)}`,
        () => {
          if (stderr.includes(text)) return true;
          if (done) throw new Error(`ended without printing ${JSON.stringify(text)}:\n${stderr}`);
          return false;
        },
        300_000,
      ),
  };
}

function up(app: string, args: string[] = []) {
  return start(["up", app, "--dir", stackDir, ...args]);
}

function lockFile(app: string): string | undefined {
  const root = join(stateHome, "hln", "apps");
  if (!existsSync(root)) return undefined;
  const found = readdirSync(root, { recursive: true })
    .map(String)
    .find((f) => f.endsWith(`/${app}.lock`) || f === `${app}.lock`);
  return found === undefined ? undefined : join(root, found);
}

/** What the app's one container printed: its `token=` line. */
async function tokenOf(app: string): Promise<string> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
  const list = await engine.docker.json<{ Id: string }[]>(
    "GET",
    `/containers/json?all=1&filters=${filters}`,
  );
  assert.equal(list.length, 1, `app ${app}: ${list.length} containers`);
  const id = list[0]?.Id ?? "";
  let token: string | undefined;
  // The container may not have printed yet.
  for (let i = 0; i < 100 && token === undefined; i++) {
    const res = await engine.docker.stream("GET", `/containers/${id}/logs?stdout=1&stderr=1`);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    token = /token=([0-9a-f]{32})/.exec(Buffer.concat(chunks).toString("latin1"))?.[1];
    if (token === undefined) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(token, `app ${app}: no token in its container's logs`);
  return token;
}

/** A process that holds the app's lock, as another hln would, until its stdin ends. */
function holdLock(app: string, engineId: string) {
  const holder = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "-e",
      `import { fileStateStore } from ${JSON.stringify(join(repoRoot, "src/app/state-store.ts"))};
       const lock = await fileStateStore({ env: process.env, engineId: ${JSON.stringify(engineId)} }).lock(${JSON.stringify(app)}, { command: "holder of the lock" });
       console.log("locked");
       process.stdin.resume();
       process.stdin.once("end", () => { lock.release(); process.exit(0); });`,
    ],
    { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"], cwd: repoRoot },
  );
  const locked = new Promise<void>((resolve) => holder.stdout?.once("data", () => resolve()));
  const exited = new Promise<number | null>((resolve) => holder.once("close", resolve));
  return { holder, locked, exited };
}

before(async () => {
  engine = await requireEngine();
});

after(async () => {
  // In this process, not with hln down: nine more CLI starts would cost this file its budget.
  await Promise.all(apps.map((app) => removeApp(engine.docker, app, { volumes: true })));
  engine.close();
});

// The cases run side by side, on apps of their own, as they would on a busy machine.
describe("hln up, many at once", { concurrency: true }, () => {
  const four = [newApp(), newApp(), newApp(), newApp()];
  let markDeployed = (_ok: boolean) => {};
  const fourDeployed = new Promise<boolean>((resolve) => (markDeployed = resolve));

  it("four apps at once all deploy, and their common build step runs once for all four", async () => {
    const runs = four.map((app) => up(app));
    const codes = await Promise.all(runs.map((r) => r.exited));
    markDeployed(codes.every((c) => c === 0));
    for (const [i, r] of runs.entries()) assert.equal(codes[i], 0, r.stderr());
    const tokens = await Promise.all(four.map(tokenOf));
    assert.equal(new Set(tokens).size, 1, `tokens: ${tokens.join(" ")}`);
    console.log(
      `four ups at once: ${runs.map((r) => (r.ms() / 1000).toFixed(1)).join(" s, ")} s; one token ${tokens[0]}`,
    );
  });

  it("two ups of one app take turns: the second says who holds the lock, waits, then keeps what the first made", async () => {
    const app = newApp();
    const args = ["--set", `slow=${nonce()}`];
    // Started together, one takes the lock and holds it through its build; the other waits.
    const a = up(app, args);
    const b = up(app, args);
    const [ca, cb] = await Promise.all([a.exited, b.exited]);
    assert.equal(ca, 0, a.stderr());
    assert.equal(cb, 0, b.stderr());
    const waited = [a, b].filter((r) => r.stderr().includes("waiting for it to finish"));
    assert.equal(waited.length, 1, `${a.stderr()}\n----\n${b.stderr()}`);
    const [second] = waited;
    const first = second === a ? b : a;
    assert.ok(second && first);
    const line = second
      .stderr()
      .split("\n")
      .filter((l) => l.includes("waiting for it to finish"));
    assert.equal(line.length, 1, "said once");
    assert.match(
      line[0] ?? "",
      new RegExp(
        `^hln: app ${app} is locked by pid ${first.pid} \\(hln up ${app}\\) on \\S+ since [0-9:]+; waiting for it to finish \\(Ctrl-C stops waiting; --no-wait fails at once instead\\)$`,
      ),
    );
    // It planned after the first deployed, so it found the service as wanted.
    assert.match(second.stderr(), /s +keep/);
    assert.match(first.stderr(), /s +create/);
    console.log(
      `same app twice: first ${(first.ms() / 1000).toFixed(1)} s, second ${(second.ms() / 1000).toFixed(1)} s`,
    );
  });

  it("takes over, with a message, the lock of an up killed with SIGKILL, and deploys", async () => {
    const app = newApp();
    const slow = nonce();
    const killed = up(app, ["--set", `slow=${slow}`, "--set", "slowS=120"]);
    await until(
      "the killed run's slow step runs",
      () => processes(`echo ${slow}`).length > 0,
      300_000,
    );
    const lock = lockFile(app);
    assert.ok(lock, "the running up holds a lock file");
    killed.child.kill("SIGKILL");
    assert.equal(await killed.exited, null);
    assert.equal(JSON.parse(readFileSync(lock, "utf8")).pid, killed.pid, "the lock is left behind");
    const r = up(app);
    assert.equal(await r.exited, 0, r.stderr());
    assert.match(
      r.stderr(),
      new RegExp(
        `hln: took over the lock of app ${app} left by pid ${killed.pid} \\(hln up ${app}\\), which is no longer running`,
      ),
    );
    assert.equal(lockFile(app), undefined, "released at its end");
    // The engine drops the killed client's solve: its step does not run on.
    await until(
      "the killed run's step is stopped",
      () => processes(`echo ${slow}`).length === 0,
      60_000,
    );
  });

  it("waits for a live holder until Ctrl-C (exit 130, nothing changed); hln down waits for it too", async () => {
    // hln down needs an app that is there: the first of the four, once they are deployed.
    assert.ok(await fourDeployed, "the four apps were not deployed");
    const app = four[0] ?? "";
    const engineId = (await engine.docker.info()).ID ?? "";
    const h = holdLock(app, engineId);
    try {
      await h.locked;
      const holderLock = readFileSync(lockFile(app) ?? "", "utf8");
      const r = up(app);
      await r.printed(`is locked by pid ${h.holder.pid} (holder of the lock)`);
      await r.printed("waiting for it to finish");
      r.child.kill("SIGINT");
      assert.equal(await r.exited, 130, r.stderr());
      assert.equal(
        readFileSync(lockFile(app) ?? "", "utf8"),
        holderLock,
        "the holder's lock stays",
      );
      assert.equal(await tokenOf(app), await tokenOf(four[1] ?? ""), "the app is as it was");

      const d = start(["down", app, "-y"]);
      await d.printed(`is locked by pid ${h.holder.pid} (holder of the lock)`);
      h.holder.stdin?.end();
      assert.equal(await h.exited, 0);
      assert.equal(await d.exited, 0, d.stderr());
      assert.match(d.stdout(), /removed container/);
      assert.equal(lockFile(app), undefined);
    } finally {
      h.holder.kill("SIGKILL");
    }
  });
});
