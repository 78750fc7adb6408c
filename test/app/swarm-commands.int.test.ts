/**
 * hln status, logs, rollback, down, engine info and list apps on an app laid out on the
 * test swarm by hand, through the Engine API: a two-replica service (one task per node,
 * a health check, a secret, a volume), a job, a secret and an overlay network, all with
 * the labels hln gives them. Also what the commands rely on in swarm itself: a task of a
 * service with a health check is reported running only once its container is healthy;
 * a rollback swaps the spec with the previous one.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fileStateStore } from "../../src/app/state-store.js";
import { nodeNames } from "../../src/app/swarm-status.js";
import { sampleParts } from "../../src/app/testdata/config-parts.js";
import { httpStatus } from "../../src/docker/client.js";
import { nonce } from "../helpers/engine.js";
import { repoRoot, runCli } from "../helpers/run-cli.js";
import { managerEndpoint, type TestSwarm, useSwarm } from "../helpers/swarm.js";
import { tempDir } from "../helpers/temp-dir.js";
import { until } from "../helpers/until.js";

const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));
const id = nonce();
const app = `swc-${id}`;
/** An app on the manager as a container, for rollback's single-engine refusal. */
const plainApp = `swc-plain-${id}`;
const volume = `hln-${app}-data`;
const env = { XDG_STATE_HOME: tempDir("hln-swarm-cmds-"), DOCKER_HOST: managerEndpoint };
let swarm: TestSwarm;
let engineId = "";
/** Node ID → the name hln shows (hostname; the test swarm's nodes share one). */
let names = new Map<string, string>();
const made: { services: string[]; secrets: string[]; network?: string; container?: string } = {
  services: [],
  secrets: [],
};
/** Per web task: its state and its container's health each time either changed. */
const seen = new Map<string, { state: string; health: string; node: string }[]>();

interface Task {
  ID: string;
  NodeID: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

function tasksOf(service: string): Promise<Task[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [service] }));
  return swarm.manager.json<Task[]>("GET", `/tasks?filters=${filters}`);
}

/** The parts label hln puts on a service: only env differs between the two specs here. */
function configLabel(greeting: string): string {
  return JSON.stringify(
    sampleParts({ image: "sha256:busybox", env: { GREETING: greeting === "one" ? "d1" : "d2" } }),
  );
}

function webSpec(greeting: string, network: string, secret: string) {
  return {
    Name: `hln-${app}-web`,
    Labels: {
      "dev.hln.app": app,
      "dev.hln.service": "web",
      "dev.hln.kind": "service",
      "dev.hln.config-hash": `hash-${greeting}`,
      "dev.hln.config": configLabel(greeting),
      "dev.hln.stack": "hand@1.0.0",
    },
    TaskTemplate: {
      ContainerSpec: {
        Image: "busybox:latest",
        Env: [`GREETING=${greeting}`],
        // Healthy 3 s after start; the start period keeps the failed checks before that
        // from counting, so the task is never unhealthy.
        Command: [
          "sh",
          "-c",
          'echo "hello $GREETING"; (sleep 3; touch /tmp/ready) & trap "exit 0" TERM; while sleep 1; do :; done',
        ],
        Healthcheck: {
          Test: ["CMD-SHELL", "test -f /tmp/ready"],
          Interval: 1_000_000_000,
          Timeout: 1_000_000_000,
          Retries: 3,
          StartPeriod: 30_000_000_000,
        },
        StopGracePeriod: 1_000_000_000,
        Secrets: [
          {
            File: { Name: "greeting", UID: "0", GID: "0", Mode: 0o400 },
            SecretID: secret,
            SecretName: `hln-${app}-greeting`,
          },
        ],
        Mounts: [
          {
            Type: "volume",
            Source: volume,
            Target: "/data",
            VolumeOptions: { Labels: { "dev.hln.app": app } },
          },
        ],
      },
      Placement: { MaxReplicas: 1 },
      RestartPolicy: { Condition: "any", Delay: 1_000_000_000 },
      Networks: [{ Target: network, Aliases: ["web"] }],
    },
    Mode: { Replicated: { Replicas: 2 } },
    UpdateConfig: { Parallelism: 2, FailureAction: "pause", Monitor: 1_000_000_000 },
    RollbackConfig: { Parallelism: 2, FailureAction: "pause", Monitor: 1_000_000_000 },
    // The kernel here has no IPVS, so no virtual IP: names resolve to the tasks.
    EndpointSpec: { Mode: "dnsrr" },
  };
}

/** Waits until both web tasks run GREETING=`greeting`, noting each task's state and health. */
async function webRuns(greeting: string): Promise<void> {
  await until(`both web tasks run GREETING=${greeting}`, async () => {
    const tasks = (await tasksOf(`hln-${app}-web`)).filter((t) => t.DesiredState === "running");
    for (const t of tasks) {
      const cid = t.Status.ContainerStatus?.ContainerID;
      const node = t.NodeID === swarm.nodes[0]!.id ? swarm.manager : swarm.worker;
      const health = cid
        ? ((
            await node
              .json<{ State?: { Health?: { Status?: string } } }>("GET", `/containers/${cid}/json`)
              .catch(() => undefined)
          )?.State?.Health?.Status ?? "none")
        : "no container";
      const log = seen.get(t.ID) ?? [];
      const last = log.at(-1);
      if (last?.state !== t.Status.State || last?.health !== health)
        log.push({ state: t.Status.State, health, node: t.NodeID });
      seen.set(t.ID, log);
    }
    const s = await swarm.manager.json<{
      Spec: { TaskTemplate: { ContainerSpec: { Env: string[] } } };
      UpdateStatus?: { State?: string };
    }>("GET", `/services/hln-${app}-web`);
    const settled =
      !s.UpdateStatus?.State?.endsWith("started") && s.UpdateStatus?.State !== "updating";
    const running = tasks.filter((t) => t.Status.State === "running");
    return settled &&
      s.Spec.TaskTemplate.ContainerSpec.Env.includes(`GREETING=${greeting}`) &&
      running.length === 2 &&
      tasks.length === 2
      ? true
      : undefined;
  });
}

function follow(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env, NO_COLOR: "1", CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

before(async () => {
  swarm = await useSwarm();
  engineId = (await swarm.manager.info()).ID!;
  names = nodeNames(await swarm.manager.json("GET", "/nodes"));
  const m = swarm.manager;
  const net = await m.json<{ Id: string }>("POST", "/networks/create", {
    body: { Name: `hln-${app}`, Driver: "overlay", Labels: { "dev.hln.app": app } },
  });
  made.network = net.Id;
  const secret = await m.json<{ ID: string }>("POST", "/secrets/create", {
    body: {
      Name: `hln-${app}-greeting`,
      Labels: { "dev.hln.app": app, "dev.hln.secret-fingerprint": "f" },
      Data: Buffer.from("psst").toString("base64"),
    },
  });
  made.secrets.push(secret.ID);
  const web = await m.json<{ ID: string }>("POST", "/services/create", {
    body: webSpec("one", net.Id, secret.ID),
  });
  made.services.push(web.ID);
  const job = await m.json<{ ID: string }>("POST", "/services/create", {
    body: {
      Name: `hln-${app}-migrate`,
      Labels: {
        "dev.hln.app": app,
        "dev.hln.service": "migrate",
        "dev.hln.kind": "job",
        "dev.hln.stack": "hand@1.0.0",
      },
      TaskTemplate: {
        ContainerSpec: { Image: "busybox:latest", Command: ["sh", "-c", "echo migrated"] },
        RestartPolicy: { Condition: "none" },
        Networks: [{ Target: net.Id }],
      },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      EndpointSpec: { Mode: "dnsrr" },
    },
  });
  made.services.push(job.ID);
  await fileStateStore({ env, engineId }).write({
    app,
    engine: { id: engineId, endpoint: managerEndpoint },
    stack: { ref: "hand", name: "hand", version: "1.0.0" },
    inputs: {},
    secretSources: {},
    outputs: null,
    services: {
      web: { kind: "service", image: "busybox:latest", configHash: "hash-one" },
      migrate: { kind: "job", image: "busybox:latest", configHash: "" },
    },
    history: [
      {
        at: "2026-12-02T00:00:00.000Z",
        action: "up",
        result: "ok",
        stackVersion: "1.0.0",
        changes: [],
        by: { user: "u", host: "h", pid: 1 },
      },
    ],
  });
  await webRuns("one");
  await until("the job completed", async () =>
    (await tasksOf(`hln-${app}-migrate`)).some((t) => t.Status.State === "complete")
      ? true
      : undefined,
  );
});

after(async () => {
  const m = swarm.manager;
  for (const s of made.services) await m.json("DELETE", `/services/${s}`).catch(() => undefined);
  if (made.container)
    await m.json("DELETE", `/containers/${made.container}?force=1`).catch(() => undefined);
  for (const docker of [m, swarm.worker]) {
    const filters = encodeURIComponent(
      JSON.stringify({ label: [`com.docker.swarm.service.name`] }),
    );
    await until(`${docker.endpoint} has no task of ${app}`, async () => {
      const cs = await docker.json<{ Labels: Record<string, string> }[]>(
        "GET",
        `/containers/json?all=1&filters=${filters}`,
      );
      return cs.some((c) => c.Labels["com.docker.swarm.service.name"]?.startsWith(`hln-${app}-`))
        ? undefined
        : true;
    });
  }
  for (const s of made.secrets) await m.json("DELETE", `/secrets/${s}`).catch(() => undefined);
  if (made.network)
    await until("the overlay network is gone", async () =>
      m
        .json("DELETE", `/networks/${made.network}`)
        .then(() => true)
        .catch((err) => (httpStatus(err) === 404 ? true : undefined)),
    );
  for (const docker of [m, swarm.worker])
    await docker.json("DELETE", `/volumes/${volume}`).catch(() => undefined);
  await swarm.release();
});

describe("app commands on a swarm", () => {
  it("sees a task of a service with a health check running only once its container is healthy", () => {
    const logs = [...seen.values()];
    console.log(`# web tasks, state/health as seen: ${JSON.stringify(logs)}`);
    assert.equal(logs.length, 2);
    for (const log of logs) {
      const firstRunning = log.find((e) => e.state === "running");
      assert.equal(firstRunning?.health, "healthy", JSON.stringify(log));
      for (const e of log.filter((e) => e.health === "starting"))
        assert.notEqual(e.state, "running", JSON.stringify(log));
    }
  });

  it("engine info names the swarm as the target", async () => {
    const r = await runCli(["engine", "info", "-o", "json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      JSON.parse(r.stdout).target,
      "swarm (this engine is a manager; 2 nodes, 1 manager)",
    );
    const text = await runCli(["engine", "info"], { env });
    assert.match(text.stdout, /^target +swarm \(this engine is a manager; 2 nodes, 1 manager\)$/m);
  });

  it("list apps counts the app's swarm services", async () => {
    const r = await runCli(["list", "apps", "-o", "json"], { env });
    assert.equal(r.code, 0, r.stderr);
    const row = (JSON.parse(r.stdout) as { app: string }[]).find((a) => a.app === app);
    assert.deepEqual(row, {
      app,
      stack: "hand",
      version: "1.0.0",
      services: { running: 1, total: 1 },
      lastDeploy: { at: "2026-12-02T00:00:00.000Z", result: "ok" },
    });
  });

  it("status shows each service, and each task on its node", async () => {
    const r = await runCli(["status", app, "-o", "json"], { env });
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout);
    assert.equal(status.target, "swarm");
    const [migrate, web] = status.services;
    assert.deepEqual(
      [web.service, web.state, web.ok, web.replicas],
      ["web", "running (healthy)", true, { running: 2, desired: 2 }],
    );
    assert.deepEqual(
      web.tasks.map((t: { task: string; state: string; health: string }) => [
        t.task,
        t.state,
        t.health,
      ]),
      [
        ["web.1", "running", "healthy"],
        ["web.2", "running", "healthy"],
      ],
    );
    assert.deepEqual(
      web.tasks.map((t: { node: string }) => t.node).sort(),
      swarm.nodes.map((n) => names.get(n.id)).sort(),
    );
    assert.deepEqual(
      [migrate.service, migrate.kind, migrate.state],
      ["migrate", "job", "completed"],
    );
    assert.match(migrate.tasks[0].task, /^migrate@/);
    assert.deepEqual(status.volumes, [volume]);
    const text = await runCli(["status", app], { env });
    assert.equal(text.code, 0, text.stderr);
    console.log(`# hln status ${app}:\n${text.stdout.replace(/^/gm, "#   ")}`);
    assert.match(text.stdout, /^web +service +running \(healthy\) +2\/2 /m);
    assert.match(text.stdout, /^ {2}web\.1 +\S+ +running \(healthy\) +\d+[smh] ago$/m);
  });

  it("logs name each line's task and node", async () => {
    const r = await runCli(["logs", app], { env });
    assert.equal(r.code, 0, r.stderr);
    console.log(`# hln logs ${app}:\n${r.stdout.replace(/^/gm, "#   ")}`);
    const lines = r.stdout.trimEnd().split("\n");
    const hosts = swarm.nodes.map((n) => names.get(n.id)!);
    for (const l of lines) assert.match(l, /^(web\.[12]|migrate)@\S+ +\| (hello one|migrated)$/, l);
    const web = lines.filter((l) => l.startsWith("web."));
    assert.ok(web.length >= 2, r.stdout);
    for (const h of hosts)
      assert.ok(
        web.some((l) => l.includes(`@${h} `)),
        `${h}: ${r.stdout}`,
      );
    assert.equal(lines.filter((l) => l.includes("| migrated")).length, 1);
    const only = await runCli(["logs", app, "nope"], { env });
    assert.equal(only.code, 2);
    assert.match(only.stderr, /has no service "nope" \(services: migrate, web\)/);
  });

  it("rollback refuses a service never updated, and an app on one engine or none", async () => {
    const r = await runCli(["rollback", app, "web"], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^hln: error: service web of app \S+: no previous spec/);
    const unknown = await runCli(["rollback", `${app}-nope`], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /app "\S+-nope" does not exist/);
    const noService = await runCli(["rollback", app, "api"], { env });
    assert.equal(noService.code, 2);
    assert.match(noService.stderr, /app \S+ has no service "api" \(services: migrate, web\)/);
    const c = await swarm.manager.json<{ Id: string }>("POST", "/containers/create", {
      body: {
        Image: "busybox:latest",
        Labels: { "dev.hln.app": plainApp, "dev.hln.service": "api", "dev.hln.kind": "service" },
      },
    });
    made.container = c.Id;
    const plain = await runCli(["rollback", plainApp], { env });
    assert.equal(plain.code, 2, plain.stderr);
    assert.match(plain.stderr, /rollback needs a swarm: app \S+ runs on \S+ as containers/);
    assert.match(plain.stderr, /run hln up \S+ with the previous inputs/);
  });

  it("rollback puts an updated service back, says what changed back, and keeps it in the history", async () => {
    const f = follow(["logs", app, "web", "-f", "--tail", "0"]);
    try {
      const m = swarm.manager;
      const s = await m.json<{ Version: { Index: number } }>("GET", `/services/hln-${app}-web`);
      await m.json("POST", `/services/hln-${app}-web/update?version=${s.Version.Index}`, {
        body: webSpec("two", made.network!, made.secrets[0]!),
      });
      await webRuns("two");
      const r = await runCli(["rollback", app], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        "migrate: not rolled back, a job: it runs once per deploy, so hln up runs it again\nweb: rolled back (env GREETING changed)\n",
      );
      const after = await m.json<{
        Spec: { TaskTemplate: { ContainerSpec: { Env: string[] } } };
        PreviousSpec?: { TaskTemplate: { ContainerSpec: { Env: string[] } } };
        UpdateStatus?: { State: string; Message?: string };
      }>("GET", `/services/hln-${app}-web`);
      console.log(`# after hln rollback: UpdateStatus ${JSON.stringify(after.UpdateStatus)}`);
      assert.deepEqual(after.Spec.TaskTemplate.ContainerSpec.Env, ["GREETING=one"]);
      // Swarm swaps the two specs: the one rolled back from is the previous one now.
      assert.deepEqual(after.PreviousSpec?.TaskTemplate.ContainerSpec.Env, ["GREETING=two"]);
      assert.equal(after.UpdateStatus?.State, "rollback_completed");
      const state = await fileStateStore({ env, engineId }).read(app);
      const last = state?.history.at(-1);
      assert.deepEqual(
        [last?.action, last?.result, last?.changes],
        ["rollback", "ok", ["rollback web (env GREETING changed)"]],
      );
      assert.equal(state?.services.web?.configHash, "hash-one");
      const status = JSON.parse((await runCli(["status", app, "-o", "json"], { env })).stdout);
      assert.match(status.services[1].update, /^rolled back: /);
      // Rolling back again would redo the update: it is left alone, an error when named.
      const again = await runCli(["rollback", app], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^web: not rolled back, already rolled back/m);
      const named = await runCli(["rollback", app, "web"], { env });
      assert.equal(named.code, 2);
      assert.match(named.stderr, /service web of app \S+: already rolled back/);
      // The follow saw the updated tasks and the rolled-back ones, named by task and node.
      await until(
        "the follow printed lines of the rolled-back tasks",
        async () =>
          (f.output().stdout.match(/\| hello one$/gm) ?? []).length >= 2 ? true : undefined,
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the follow printed ${JSON.stringify(f.output())}`);
      });
      console.log(
        `# hln logs -f during update and rollback:\n${f.output().stdout.replace(/^/gm, "#   ")}`,
      );
      const lines = f.output().stdout.trimEnd().split("\n");
      for (const l of lines) assert.match(l, /^web\.[12]@\S+ +\| hello (one|two)$/, l);
      assert.ok(lines.filter((l) => l.endsWith("hello two")).length >= 2, f.output().stdout);
      assert.ok(f.child.exitCode === null, "the follow still runs");
    } finally {
      if (f.child.exitCode === null) {
        f.child.kill("SIGINT");
        await f.exited;
      }
    }
  });

  it("down removes the services, the secret, the network and, with --volumes, the manager's volume", async () => {
    const f = follow(["logs", app, "-f", "--tail", "0"]);
    try {
      const r = await runCli(["down", app, "-y", "--volumes"], { env });
      assert.equal(r.code, 0, r.stderr);
      console.log(
        `# hln down ${app} -y --volumes:\n${r.stdout.replace(/^/gm, "#   ")}${r.stderr.replace(/^/gm, "#   stderr: ")}`,
      );
      const worker = swarm.nodes.find((n) => n.role === "worker")!;
      assert.equal(
        r.stdout,
        [
          `removed service hln-${app}-migrate`,
          `removed service hln-${app}-web`,
          `removed secret hln-${app}-greeting`,
          `removed network hln-${app}`,
          `removed volume ${volume}`,
          `node ${names.get(worker.id)} may hold volume ${volume} too: remove it there (docker volume rm ${volume} on that node's engine)`,
          "",
        ].join("\n"),
      );
      const filter = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
      const m = swarm.manager;
      assert.deepEqual(await m.json("GET", `/services?filters=${filter}`), []);
      assert.deepEqual(await m.json("GET", `/secrets?filters=${filter}`), []);
      assert.deepEqual(await m.json("GET", `/networks?filters=${filter}`), []);
      assert.deepEqual(
        (await m.json<{ Volumes: unknown[] | null }>("GET", `/volumes?filters=${filter}`))
          .Volumes ?? [],
        [],
      );
      // The worker's copy of the volume is there, as down said.
      const theirs = await swarm.worker.json<{ Volumes: { Name: string }[] | null }>(
        "GET",
        `/volumes?filters=${filter}`,
      );
      assert.deepEqual(
        (theirs.Volumes ?? []).map((v) => v.Name),
        [volume],
      );
      // A follow of the app ends when its services are gone.
      assert.equal(await f.exited, 0);
      assert.equal(f.output().stderr, `hln: app ${app} is gone (no services left)\n`);
      const gone = await runCli(["status", app], { env });
      assert.equal(gone.code, 2);
    } finally {
      if (f.child.exitCode === null) {
        f.child.kill("SIGINT");
        await f.exited;
      }
    }
  });
});
