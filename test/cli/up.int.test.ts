/**
 * `hln up` end to end on the real engine, with a small app on busybox: a service with a
 * health check, secret and volume; a job that gates a published web service. Each run is
 * the real binary; the engine is read through hln's own Docker client.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { appContainers, appImageTags } from "../helpers/app-on-engine.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import { type CliResult, repoRoot, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "up-demo",
  version: "1.0.0",
  inputs: {
    port: { type: "number" },
    greeting: { type: "string", default: "hello" },
    pw: { type: "secret", env: "UP_DEMO_PW" },
    dbHealth: { type: "enum", values: ["ok", "never"], default: "ok" },
    failJob: { type: "boolean", default: false },
    marker: { type: "string", default: "", env: "UP_DEMO_MARKER" },
    crash: { type: "boolean", default: false },
    hostPath: { type: "string", default: "" },
  },
  actions: {
    async up({ dag, inputs, app }) {
      const base = dag.container().from("busybox");
      const data = app.volume("data");
      const probe = inputs.dbHealth === "never"
        ? ["sh", "-c", "echo db-not-ready-yet; exit 1"]
        : ["wget", "-qO-", "http://127.0.0.1/"];
      const db = app.service("db", base.withNewFile("/www/index.html", "db"), {
        command: ["sh", "-c", "echo db-starting; echo seeded > /data/seed; exec httpd -f -p 80 -h /www"],
        volumes: { "/data": data },
        secrets: { "/run/secrets/pw": inputs.pw },
        healthcheck: { test: probe, interval: "300ms", timeout: "40s", retries: 3 },
      });
      app.job("migrate", base, {
        command: ["sh", "-c", inputs.failJob ? "echo migration-broke; exit 1" : "sha256sum /run/secrets/pw; cat /data/seed"],
        volumes: { "/data": data },
        secrets: { "/run/secrets/pw": inputs.pw },
        dependsOn: { db: "healthy" },
      });
      const page = base.withNewFile("/www/index.html", inputs.greeting);
      app.service("web", page, {
        command: inputs.crash ? ["sh", "-c", "echo web-gives-up; exit 4"] : ["httpd", "-f", "-p", "80", "-h", "/www"],
        ...(inputs.hostPath ? { volumes: { "/host": inputs.hostPath } } : {}),
        ports: [{ host: inputs.port, container: 80 }],
        env: { DB_HOST: db.hostname },
        dependsOn: { db: "healthy", migrate: "completed" },
        ...(inputs.crash ? {} : { healthcheck: { test: ["wget", "-qO-", "http://127.0.0.1/"], interval: "300ms", retries: 20 } }),
      });
      return { url: "http://127.0.0.1:" + inputs.port };
    },
    async down({ dag, inputs }) {
      if (inputs.marker) await dag.directory().withNewFile("down.txt", "down ran").export(inputs.marker);
    },
  },
});
`;

const secret = `pw-${nonce()}-Zq`;
const dir = tempDir("hln-up-");
const stackDir = join(dir, "stack");
mkdirSync(stackDir);
writeFileSync(join(stackDir, "stack.ts"), stackSource);
const stateHome = join(dir, "state");
const marker = join(dir, "down-marker");
const env = { XDG_STATE_HOME: stateHome, UP_DEMO_PW: secret, UP_DEMO_MARKER: marker };
const apps: string[] = [];
let engine: Engine;

function newApp(): string {
  const app = `t${nonce()}`;
  apps.push(app);
  return app;
}

function up(app: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(["--log-format", "plain", "up", app, "--dir", stackDir, ...args], {
    env: { ...env, ...extraEnv },
  });
}

interface Inspected {
  Id: string;
  Name: string;
  State: { StartedAt: string; Status: string; ExitCode: number };
  Config: { Labels: Record<string, string> };
}

function containersOf(app: string): Promise<Inspected[]> {
  return appContainers<Inspected>(engine.docker, app);
}

function imageTags(app: string): Promise<string[]> {
  return appImageTags(engine.docker, app);
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

function checkOk(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
}

before(async () => {
  engine = await requireEngine();
});

after(async () => {
  for (const app of apps) await runCli(["down", app, "-y", "--volumes"], { env });
  engine.close();
});

describe("hln up", () => {
  const app = newApp();
  let port: number;
  const outputs: string[] = [];
  let first: Inspected[];

  it("deploys the app cold: health-gated order, a job, the port on 127.0.0.1, outputs printed", async () => {
    port = await freePort();
    const r = await up(app, ["--set", `port=${port}`]);
    outputs.push(r.stdout, r.stderr);
    checkOk(r, "up");
    assert.match(r.stderr, /\+ db +create \(new service\)/);
    assert.match(r.stderr, /\+ migrate +run \(new job\)/);
    assert.match(r.stdout, new RegExp(`app ${app} is up \\(2 services, 1 job;`));
    assert.match(r.stdout, new RegExp(`web +http://127\\.0\\.0\\.1:${port}`));
    assert.match(r.stdout, new RegExp(`url: http://127\\.0\\.0\\.1:${port}`));
    assert.equal(await fetchText(`http://127.0.0.1:${port}/`), "hello");
    first = await containersOf(app);
    assert.deepEqual(
      first.map((c) => [c.Name, c.State.Status]),
      [
        [`/hln-${app}-db`, "running"],
        [`/hln-${app}-migrate`, "exited"],
        [`/hln-${app}-web`, "running"],
      ],
    );
    // The job saw the secret file and the volume the db service wrote.
    const logs = await engine.docker.stream(
      "GET",
      `/containers/hln-${app}-migrate/logs?stdout=1&stderr=1`,
    );
    let text = "";
    for await (const chunk of logs) text += (chunk as Buffer).toString("latin1");
    assert.ok(text.includes(createHash("sha256").update(secret).digest("hex")));
    assert.ok(text.includes("seeded"));
  });

  it("changes nothing on a second run: same containers, same start times", async () => {
    const r = await up(app, ["--set", `port=${port}`]);
    outputs.push(r.stdout, r.stderr);
    checkOk(r, "second up");
    assert.match(r.stdout, /is up to date \(2 services, 1 job; nothing changed\)/);
    assert.match(r.stderr, /= web +keep \(unchanged\)/);
    assert.match(r.stderr, /= migrate +keep \(completed, unchanged\)/);
    const now = await containersOf(app);
    assert.deepEqual(
      now.map((c) => [c.Id, c.State.StartedAt]),
      first.map((c) => [c.Id, c.State.StartedAt]),
    );
  });

  it("keeps --log-format json all JSON: the plan and converge's steps are events", async () => {
    const r = await runCli(
      ["--log-format", "json", "up", app, "--dir", stackDir, "--set", `port=${port}`],
      { env },
    );
    checkOk(r, "json up");
    const events = r.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; steps?: { service: string; action: string }[] });
    const plan = events.find((e) => e.type === "plan");
    assert.deepEqual(
      plan?.steps?.map((s) => [s.service, s.action]),
      [
        ["db", "keep"],
        ["migrate", "keep"],
        ["web", "keep"],
      ],
    );
  });

  it("a dry run prints the plan for a changed input and changes nothing", async () => {
    const r = await up(app, ["--set", `port=${port}`, "--set", "greeting=salut", "--dry-run"]);
    outputs.push(r.stdout, r.stderr);
    checkOk(r, "dry run");
    assert.match(r.stderr, /~ web +recreate \(image changed\)/);
    assert.match(r.stderr, /= db +keep/);
    assert.match(r.stdout, /dry run: .* would change as planned; nothing was changed/);
    assert.deepEqual(
      (await containersOf(app)).map((c) => c.Id),
      first.map((c) => c.Id),
    );
    assert.equal(await fetchText(`http://127.0.0.1:${port}/`), "hello");
  });

  it("recreates only what an input reaches, saying why", async () => {
    const r = await up(app, ["--set", `port=${port}`, "--set", "greeting=bonjour"]);
    outputs.push(r.stdout, r.stderr);
    checkOk(r, "up with a changed input");
    assert.match(r.stderr, /web: recreating \(image changed\)/);
    assert.doesNotMatch(r.stderr, /db: recreating|migrate: running/);
    assert.equal(await fetchText(`http://127.0.0.1:${port}/`), "bonjour");
    const now = await containersOf(app);
    const ids = (list: Inspected[]) => Object.fromEntries(list.map((c) => [c.Name, c.Id]));
    assert.equal(ids(now)[`/hln-${app}-db`], ids(first)[`/hln-${app}-db`]);
    assert.equal(ids(now)[`/hln-${app}-migrate`], ids(first)[`/hln-${app}-migrate`]);
    assert.notEqual(ids(now)[`/hln-${app}-web`], ids(first)[`/hln-${app}-web`]);
    assert.equal(now.length, 3);
  });

  it("reruns the recorded stack and inputs with `hln up APP` alone", async () => {
    const r = await runCli(["--log-format", "plain", "up", app], { env, cwd: dir });
    outputs.push(r.stdout, r.stderr);
    checkOk(r, "hln up APP");
    assert.match(r.stderr, /with the inputs of its last deploy/);
    assert.match(r.stdout, /is up to date/);
  });

  it("keeps the secret out of inspect, labels, the state file and everything printed", async () => {
    const inspected = JSON.stringify(
      await Promise.all(
        (await containersOf(app)).map((c) => engine.docker.json("GET", `/containers/${c.Id}/json`)),
      ),
    );
    const states = readdirSync(join(stateHome, "hln", "apps"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".json"))
      .map((f) => readFileSync(join(stateHome, "hln", "apps", f), "utf8"));
    assert.ok(states.some((s) => s.includes('"env:UP_DEMO_PW"')));
    const b64 = Buffer.from(secret).toString("base64");
    for (const [what, text] of [
      ["docker inspect", inspected],
      ["state files", states.join("\n")],
      ["output", outputs.join("\n")],
    ] as const) {
      assert.ok(!text.includes(secret), `${what} holds the secret`);
      assert.ok(!text.includes(b64), `${what} holds the secret in base64`);
    }
  });

  it("runs the stack's down action, then takes the app down: no container, network or state left; the volume kept and named", async () => {
    const r = await runCli(["down", app, "-y"], { env });
    checkOk(r, "down");
    // The stack's own down action ran first, with the inputs of the last deploy.
    assert.match(r.stderr, /running action "down"/);
    assert.equal(readFileSync(join(marker, "down.txt"), "utf8"), "down ran");
    assert.match(r.stdout + r.stderr, new RegExp(`kept volume hln-${app}-data`));
    assert.deepEqual(await containersOf(app), []);
    const nets = await engine.docker.json<unknown[]>(
      "GET",
      `/networks?filters=${encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }))}`,
    );
    assert.deepEqual(nets, []);
    const vols = await engine.docker.json<{ Volumes: { Name: string }[] | null }>(
      "GET",
      `/volumes?filters=${encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }))}`,
    );
    assert.deepEqual(
      (vols.Volumes ?? []).map((v) => v.Name),
      [`hln-${app}-data`],
    );
    const stateFiles = readdirSync(join(stateHome, "hln", "apps"), { recursive: true }).map(String);
    assert.ok(!stateFiles.some((f) => f.endsWith(`${app}.json`)));
  });
});

describe("hln up when things go wrong", () => {
  it("fails on a health check that never passes, naming the service, its check and its log", async () => {
    const app = newApp();
    const r = await up(app, ["--set", `port=${await freePort()}`, "--set", "dbHealth=never"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /hln: error: service db is unhealthy: its health check exited 1: db-not-ready-yet/,
    );
    assert.match(r.stderr, /\| db-starting/);
    // Nothing that depends on it started.
    assert.deepEqual(
      (await containersOf(app)).map((c) => c.Name),
      [`/hln-${app}-db`],
    );
    const status = await runCli(["status", app], { env });
    assert.match(status.stdout, /unhealthy|failed/);
  });

  it("never starts what depends on a job that exits 1", async () => {
    const app = newApp();
    const r = await up(app, ["--set", `port=${await freePort()}`, "--set", "failJob=true"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /hln: error: job migrate exited with 1/);
    assert.match(r.stderr, /\| migration-broke/);
    const names = (await containersOf(app)).map((c) => c.Name);
    assert.ok(!names.includes(`/hln-${app}-web`), names.join(" "));
  });

  it("reports a port taken on the host before changing anything", async () => {
    const app = newApp();
    const server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
    try {
      const r = await up(app, ["--set", `port=${port}`]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `hln: error: service web: port 127\\.0\\.0\\.1:${port}/tcp is taken by another process on this host`,
        ),
      );
      assert.deepEqual(await containersOf(app), []);
      assert.deepEqual(await imageTags(app), []);
    } finally {
      server.close();
    }
  });

  it("with --no-wait, refuses a second up of an app whose lock a live process holds, naming it", async () => {
    const app = newApp();
    const engineId = (await engine.docker.info()).ID;
    const holder = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import { fileStateStore } from ${JSON.stringify(join(repoRoot, "src/app/state-store.ts"))};
         await fileStateStore({ env: process.env, engineId: ${JSON.stringify(engineId)} }).lock(${JSON.stringify(app)}, { command: "holder of the lock" });
         console.log("locked");
         setInterval(() => {}, 1000);`,
      ],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"], cwd: repoRoot },
    );
    try {
      await new Promise<void>((resolve) => holder.stdout?.once("data", () => resolve()));
      // Without --no-wait it would wait for the holder: test/cli/concurrent-up.int.test.ts.
      const r = await up(app, ["--set", `port=${await freePort()}`, "--no-wait"]);
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, new RegExp(`pid ${holder.pid} \\(holder of the lock\\)`));
      assert.doesNotMatch(r.stderr, /waiting/);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("reruns an app deployed from a stack file (not DIR/stack.ts) with `hln up APP` alone", async () => {
    const app = newApp();
    const file = join(dir, "file-stack", "other.ts");
    mkdirSync(join(dir, "file-stack"), { recursive: true });
    writeFileSync(file, stackSource);
    checkOk(
      await runCli(["up", app, "--dir", file, "--set", `port=${await freePort()}`], { env }),
      "up from a file",
    );
    const again = await runCli(["up", app], { env, cwd: dir });
    checkOk(again, "rerun");
    assert.match(again.stdout, /is up to date/);
  });

  it("fails a service without a health check that dies as it starts", async () => {
    const app = newApp();
    const r = await up(app, ["--set", `port=${await freePort()}`, "--set", "crash=true"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /hln: error: service web exited with 4 as it started/);
    assert.match(r.stderr, /\| web-gives-up/);
  });

  it("refuses a bind mount whose host path does not exist, before anything changes", async () => {
    const app = newApp();
    const missing = join(dir, `missing-${nonce()}`);
    const r = await up(app, ["--set", `port=${await freePort()}`, "--set", `hostPath=${missing}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `hln: error: service web: volumes\\["/host"\\]: host path ${missing} does not exist`,
      ),
    );
    assert.deepEqual(await containersOf(app), []);
    assert.deepEqual(await imageTags(app), []);
  });

  it("refuses a stack whose dependsOn names nothing, before any build", async () => {
    const bad = join(dir, "bad");
    mkdirSync(bad, { recursive: true });
    writeFileSync(
      join(bad, "stack.ts"),
      `import { defineStack } from "hln";
export default defineStack({ name: "bad", version: "1.0.0", actions: { up({ dag, app }) {
  app.service("api", dag.container().from("busybox"), { dependsOn: { dbb: "started" } });
} } });\n`,
    );
    const app = newApp();
    const r = await runCli(["up", app, "--dir", bad], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /dependsOn "dbb": no service or job of that name/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    const files = existsSync(join(stateHome, "hln", "apps"))
      ? readdirSync(join(stateHome, "hln", "apps"), { recursive: true }).map(String)
      : [];
    assert.ok(!files.some((f) => f.includes(app)), files.join(" "));
  });
});
