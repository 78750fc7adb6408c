/**
 * hln on a swarm, end to end, as a user runs it: the test swarm of test/helpers/swarm.ts
 * (the main engine as manager, the remote host as worker, a plain-HTTP registry both
 * pull from), `hln up` with --registry, a second up that changes nothing, a rolling update
 * watched by a poller through the published port, `hln rollback`, a broken image the
 * swarm rolls back by itself, secrets kept out of everything, and `hln down`. A small
 * stack written here covers replicas and updates (its inputs can set them; the official
 * stacks' cannot); the official web-api-db stack, unchanged, shows the same stack that
 * runs on one engine runs on the swarm, and rolls its api behind nginx. On a kernel without
 * IPVS (no routing mesh) the ups pass --no-mesh. Each step prints its figures; none is a
 * timed assertion.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DockerClient } from "../../src/docker/client.js";
import { nonce } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import { startPoller } from "../helpers/poller.js";
import { type CliResult, runCli } from "../helpers/run-cli.js";
import { ipvsAvailable, type TestSwarm, useSwarm } from "../helpers/swarm.js";
import { tempDir } from "../helpers/temp-dir.js";
import { until } from "../helpers/until.js";

/**
 * The small stack: `api`, a busybox httpd with `replicas` tasks answering its `version`,
 * behind `front`, one busybox httpd on the manager, published on `port`, whose CGI
 * /cgi-bin/api asks the api's tasks in turn until one answers, giving each 1 s to connect
 * (a task that just went can linger in Docker's DNS for a moment; a client's whole request
 * has 2 s). Requests go through the
 * front as a user's would, so a rolling update of the api is watched from outside it
 * whether or not the swarm has its routing mesh (without one, a published port answers
 * only on its task's node and updates stop-first, see docs/swarm.md). `version` changes
 * the api's image (the page) and env; `broken` builds an api image without /healthz, so
 * no new task ever becomes healthy. The secret is mounted; only its hash is printed.
 */
const frontCgi = `#!/bin/sh
for ip in $(nslookup -type=a api 127.0.0.11 2>/dev/null | sed -n 's/^Address: \\([0-9.]*\\)$/\\1/p'); do
  out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 1 nc "$ip" 8080 2>/dev/null)
  case "$out" in
    "HTTP/1."*" 200 "*)
      printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$(printf '%s' "$out" | sed '1,/^\\r*$/d')"
      exit 0 ;;
  esac
done
printf 'Status: 502 Bad Gateway\\r\\nContent-Type: text/plain\\r\\n\\r\\nno api task answered\\n'
`;
const stackSource = `import { defineStack } from "hln";
const frontCgi = ${JSON.stringify(frontCgi)};
const probe = (marker) => ({
  test: ["sh", "-c", "wget -qO- http://127.0.0.1:8080/healthz || { echo " + marker + "; exit 1; }"],
  interval: "500ms",
  timeout: "3s",
  retries: 3,
});
export default defineStack({
  name: "swarm-demo",
  version: "1.0.0",
  inputs: {
    port: { type: "number" },
    replicas: { type: "number", default: 2 },
    version: { type: "string", default: "v1" },
    broken: { type: "boolean", default: false },
    pw: { type: "secret", env: "SWARM_DEMO_PW" },
  },
  actions: {
    async up({ dag, inputs, app }) {
      const busybox = dag.container().from("busybox");
      let page = busybox.withNewFile("/www/index.html", inputs.version + "\\n");
      if (!inputs.broken) page = page.withNewFile("/www/healthz", "ok\\n");
      app.service("api", page, {
        command: ["sh", "-c", "sha256sum /run/secrets/pw; exec httpd -f -p 8080 -h /www"],
        env: { VERSION: inputs.version },
        secrets: { "/run/secrets/pw": inputs.pw },
        replicas: inputs.replicas,
        healthcheck: probe("swarm-demo-health-probe-failed"),
      });
      const front = busybox
        .withNewFile("/www/healthz", "ok\\n")
        .withNewFile("/www/cgi-bin/api", frontCgi, { permissions: 0o755 });
      app.service("front", front, {
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
        ports: [{ host: inputs.port, container: 8080 }],
        placement: ["node.role == manager"],
        dependsOn: { api: "healthy" },
        healthcheck: probe("front-unhealthy"),
      });
      return { url: "http://127.0.0.1:" + inputs.port + "/cgi-bin/api" };
    },
  },
});
`;

const dir = tempDir("hln-swarm-");
const stackDir = join(dir, "stack");
mkdirSync(stackDir);
writeFileSync(join(stackDir, "stack.ts"), stackSource);
const stateHome = join(dir, "state");
const pw = `pw-${randomBytes(9).toString("hex")}`;
const dbPassword = `pw-${randomBytes(9).toString("hex")}`;
const env = {
  XDG_STATE_HOME: stateHome,
  SWARM_DEMO_PW: pw,
  WEB_API_DB_PASSWORD: dbPassword,
  HLN_LOG_FORMAT: "plain",
};
/** Everything hln printed, searched for the secrets at the end. */
const printed: string[] = [];
const apps: string[] = [];
let swarm: TestSwarm;

interface Service {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string; Env?: string[] } };
    Mode: { Replicated?: { Replicas: number } };
    UpdateConfig?: { Order?: string; FailureAction?: string };
  };
  PreviousSpec?: unknown;
  UpdateStatus?: { State: string; Message?: string };
}

interface Task {
  ID: string;
  NodeID: string;
  Status: { State: string; Err?: string };
}

function q(filters: Record<string, string[]>): string {
  return encodeURIComponent(JSON.stringify(filters));
}

function ok(r: CliResult, what: string): CliResult {
  printed.push(r.stdout, r.stderr);
  assert.equal(r.code, 0, `${what}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
  return r;
}

function hln(args: string[], timeoutMs = 600_000): Promise<CliResult> {
  return runCli(args, { env, timeoutMs });
}

function newApp(prefix: string): string {
  const app = `${prefix}${nonce()}`;
  apps.push(app);
  return app;
}

async function servicesOf(app: string): Promise<Service[]> {
  const list = await swarm.manager.json<Service[]>(
    "GET",
    `/services?filters=${q({ label: [`dev.hln.app=${app}`] })}`,
  );
  return list.sort((a, b) => (a.Spec.Name < b.Spec.Name ? -1 : 1));
}

async function service(name: string): Promise<Service> {
  return swarm.manager.json<Service>("GET", `/services/${name}`);
}

function runningTasks(name: string): Promise<Task[]> {
  return swarm.manager.json<Task[]>(
    "GET",
    `/tasks?filters=${q({ service: [name], "desired-state": ["running"] })}`,
  );
}

async function text(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch((err: Error) => {
    throw new Error(
      `GET ${url}: ${err.message} ${(err.cause as Error | undefined)?.message ?? ""}${meshNote}`,
    );
  });
  const body = await res.text();
  assert.equal(res.status, 200, `${url}: ${body}`);
  return body.trim();
}

/** What the app left on one engine: task containers, volumes, images of its registry repos. */
async function removeAppLeftovers(docker: DockerClient, app: string): Promise<void> {
  await until(`${docker.endpoint} has no task container of ${app}`, async () => {
    const cs = await docker.json<{ Labels: Record<string, string> }[]>(
      "GET",
      "/containers/json?all=1",
    );
    const mine = cs.filter((c) =>
      (c.Labels["com.docker.swarm.service.name"] ?? "").startsWith(`hln-${app}-`),
    );
    return mine.length === 0 ? true : undefined;
  });
  const vols = await docker.json<{ Volumes: { Name: string }[] | null }>(
    "GET",
    `/volumes?filters=${q({ label: [`dev.hln.app=${app}`] })}`,
  );
  for (const v of vols.Volumes ?? [])
    await docker.json("DELETE", `/volumes/${v.Name}?force=1`).catch(() => undefined);
  await removeImageNames(docker, [`${swarm.registry}/hln/${app}/`, `hln/${app}/`]);
}

/**
 * Removes every name (tag, or digest reference of an image pulled by digest) starting
 * with one of `prefixes`; by name, never by ID: the same image may carry another app's
 * names too, which must stay.
 */
async function removeImageNames(docker: DockerClient, prefixes: string[]): Promise<void> {
  const mine = (ref: string) => prefixes.some((p) => ref.startsWith(p));
  type Listed = { RepoTags: string[] | null; RepoDigests: string[] | null };
  for (const i of await docker.json<Listed[]>("GET", "/images/json?all=1"))
    for (const tag of (i.RepoTags ?? []).filter(mine))
      await docker.json("DELETE", `/images/${encodeURIComponent(tag)}`).catch(() => undefined);
  // An image pulled by digest may have digest names only: removed by those when every
  // name it has is ours (a digest name of an image others still tag would take theirs).
  for (const i of await docker.json<Listed[]>("GET", "/images/json?all=1")) {
    const names = [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])];
    if (names.length > 0 && names.every(mine))
      for (const ref of names)
        await docker.json("DELETE", `/images/${encodeURIComponent(ref)}`).catch(() => undefined);
  }
}

/**
 * Nothing of the app on the manager. The overlay network leaves the manager's list only
 * once its tasks there are gone, a moment after the services: waited for, bounded.
 */
async function assertGone(app: string): Promise<void> {
  const label = q({ label: [`dev.hln.app=${app}`] });
  assert.deepEqual(await servicesOf(app), []);
  assert.deepEqual(await swarm.manager.json("GET", `/secrets?filters=${label}`), []);
  const started = performance.now();
  const left = await until("the app's network is gone from the manager", async () => {
    const nets = await swarm.manager.json<{ Name: string }[]>("GET", `/networks?filters=${label}`);
    return nets.length === 0 || performance.now() - started > 30_000 ? nets : undefined;
  });
  console.log(
    `#    network gone from the manager ${Math.round(performance.now() - started)} ms after down`,
  );
  assert.deepEqual(
    left.map((n) => n.Name),
    [],
  );
}

/**
 * Without IPVS in the kernel the swarm has no VIPs or routing mesh: hln deploys with
 * --no-mesh (DNS round robin, ports published on their task's node).
 */
const meshFlags = ipvsAvailable() ? [] : ["--no-mesh"];

/** Why a request through a published port may fail here whatever hln does. */
const meshNote = ipvsAvailable()
  ? ""
  : " (this kernel has no IPVS: a swarm's VIPs and ingress routing mesh do not work here; see test/helpers/swarm.ts)";

before(async () => {
  swarm = await useSwarm();
});

after(async () => {
  for (const app of apps) {
    const r = await runCli(["down", app, "-y", "--volumes"], { env }).catch((e) => ({
      code: -1,
      stdout: "",
      stderr: String(e),
    }));
    if (r.code !== 0) console.log(`# cleanup: hln down ${app}: ${r.stderr.slice(-500)}`);
    // Whatever down did not take (it failed, or hln down is not there yet), by label.
    for (const s of await servicesOf(app).catch(() => []))
      await swarm.manager.json("DELETE", `/services/${s.ID}`).catch(() => undefined);
    for (const docker of [swarm.manager, swarm.worker])
      await removeAppLeftovers(docker, app).catch((e) => console.log(`# cleanup: ${e}`));
    for (const kind of ["secrets", "networks"]) {
      const list = await swarm.manager
        .json<{ ID?: string; Id?: string }[]>(
          "GET",
          `/${kind}?filters=${q({ label: [`dev.hln.app=${app}`] })}`,
        )
        .catch(() => []);
      for (const o of list)
        await swarm.manager.json("DELETE", `/${kind}/${o.ID ?? o.Id}`).catch(() => undefined);
    }
  }
  await swarm.release();
});

describe("a small stack with replicas on the swarm", () => {
  const app = newApp("s");
  const name = `hln-${app}-api`;
  const frontName = `hln-${app}-front`;
  let port: number;
  /** Through the front, on the manager: the api's answer. */
  const url = () => `http://127.0.0.1:${port}/cgi-bin/api`;
  let v1: Service;
  let v2: Service;
  const up = (...sets: string[]) =>
    hln([
      "up",
      app,
      "--dir",
      stackDir,
      "--registry",
      `http://${swarm.registry}`,
      "--set",
      `port=${port}`,
      ...meshFlags,
      ...sets.flatMap((s) => ["--set", s]),
    ]);

  it("a. comes up on the swarm: the plan says so, the api answers through the published front", async () => {
    port = await freePort();
    const r = ok(await up(), "up");
    console.log(`# a. swarm-demo first up: ${Math.round(r.ms / 1000)} s`);
    assert.match(`${r.stdout}\n${r.stderr}`, /on the swarm managed by /);
    assert.deepEqual(
      (await servicesOf(app)).map((s) => s.Spec.Name),
      [name, frontName],
    );
    v1 = await service(name);
    assert.match(
      v1.Spec.TaskTemplate.ContainerSpec.Image,
      new RegExp(`^${swarm.registry}/hln/${app}/api(:[^@]*)?@sha256:[0-9a-f]{64}$`),
    );
    assert.equal(v1.Spec.Labels?.["dev.hln.app"], app);
    assert.equal(v1.Spec.Labels?.["dev.hln.service"], "api");
    assert.equal(await text(url()), "v1");
  });

  it("b. runs its 2 replicas one on each node", async () => {
    const tasks = await until("2 tasks of the api run", async () => {
      const ts = await runningTasks(name);
      return ts.length === 2 && ts.every((t) => t.Status.State === "running") ? ts : undefined;
    });
    const nodes = new Set(tasks.map((t) => t.NodeID));
    console.log(`# b. api tasks on nodes ${JSON.stringify(tasks.map((t) => t.NodeID))}`);
    assert.equal(v1.Spec.Mode.Replicated?.Replicas, 2);
    assert.deepEqual([...nodes].sort(), swarm.nodes.map((n) => n.id).sort());
  });

  it("c. changes nothing on a second up", async () => {
    const before = await servicesOf(app);
    const r = ok(await up(), "no-op up");
    console.log(`# c. no-op up: ${Math.round(r.ms)} ms`);
    assert.match(r.stdout, /is up to date/);
    const now = await servicesOf(app);
    assert.deepEqual(
      now.map((s) => [s.Spec.Name, s.Version.Index]),
      before.map((s) => [s.Spec.Name, s.Version.Index]),
    );
  });

  it("d. rolls an input change start-first with no failed request through the published port", async () => {
    const frontBefore = await service(frontName);
    const poller = startPoller(url(), { everyMs: 100 });
    let r: CliResult;
    try {
      r = await up("version=v2");
    } finally {
      // Until the last old task has gone: the update completes when every new task runs.
      await until("the update completes", async () => {
        const s = await service(name);
        return s.UpdateStatus?.State === "completed" ||
          s.UpdateStatus?.State?.startsWith("rollback")
          ? true
          : undefined;
      }).catch(() => undefined);
    }
    const polled = await poller.stop();
    ok(r, "up version=v2");
    v2 = await service(name);
    console.log(
      `# d. rolling update v1 -> v2: ${polled.failed} failed of ${polled.total} requests (every 100 ms, slowest ${polled.slowestMs} ms); update ${v2.UpdateStatus?.State}; up ${Math.round(r.ms / 1000)} s; failures ${JSON.stringify(polled.failures)}`,
    );
    assert.equal(v2.Spec.UpdateConfig?.Order, "start-first");
    assert.equal(v2.UpdateStatus?.State, "completed");
    assert.ok(polled.total > 0);
    assert.equal(polled.failed, 0, polled.failures.join("\n") + meshNote);
    assert.equal(await text(url()), "v2");
    assert.ok(v2.Spec.TaskTemplate.ContainerSpec.Env?.includes("VERSION=v2"));
    assert.equal((await service(frontName)).Version.Index, frontBefore.Version.Index, "front kept");
  });

  // f before e: after the swarm rolls a failed update back by itself it keeps no previous
  // spec (swarmkit clears it), so `hln rollback` is tried on the update d made.
  it("f. hln rollback returns the service to the spec before the last up", async () => {
    const r = ok(await hln(["rollback", app]), "rollback");
    console.log(`# f. hln rollback: ${Math.round(r.ms / 1000)} s`);
    const s = await until("the rollback completes", async () => {
      const s = await service(name);
      return s.UpdateStatus?.State === "rollback_completed" ? s : undefined;
    });
    assert.deepEqual(s.Spec.TaskTemplate.ContainerSpec.Env, v1.Spec.TaskTemplate.ContainerSpec.Env);
    assert.equal(s.Spec.TaskTemplate.ContainerSpec.Image, v1.Spec.TaskTemplate.ContainerSpec.Image);
    assert.equal(await text(url()), "v1");
    // Back to v2, so the broken image of e replaces a healthy, hln-made spec.
    ok(await up("version=v2"), "up version=v2 again");
    await until("v2 serves again", async () => ((await text(url())) === "v2" ? true : undefined));
  });

  it("e. a broken image fails the up with its health output; the swarm rolls back and the old tasks keep serving", async () => {
    const before = await service(name);
    const poller = startPoller(url(), { everyMs: 100 });
    const r = await up("version=v3", "broken=true");
    printed.push(r.stdout, r.stderr);
    const s = await until("the swarm's rollback completes", async () => {
      const s = await service(name);
      return s.UpdateStatus?.State === "rollback_completed" ? s : undefined;
    }).finally(() => poller.stop());
    const polled = await poller.stop();
    console.log(
      `# e. broken image: up exit ${r.code} after ${Math.round(r.ms / 1000)} s; update ${s.UpdateStatus?.State} (${s.UpdateStatus?.Message}); ${polled.failed} failed of ${polled.total} requests (slowest ${polled.slowestMs} ms); failures ${JSON.stringify(polled.failures)}`,
    );
    assert.notEqual(r.code, 0, "up of a broken image fails");
    // The health check's own output is read only when the failed task's container is on the
    // engine hln talks to (the manager); from the worker the task's log lines stand in.
    assert.match(
      r.stderr,
      /service api: the update was rolled back, the previous tasks keep serving/,
    );
    assert.match(r.stderr, /swarm-demo-health-probe-failed|its last lines:|it printed nothing/);
    assert.deepEqual(s.Spec.TaskTemplate.ContainerSpec, before.Spec.TaskTemplate.ContainerSpec);
    assert.equal(polled.failed, 0, polled.failures.join("\n") + meshNote);
    assert.equal(await text(url()), "v2");
  });

  it("g. keeps the secret out of service inspect, the swarm secret, the state file and the output", async () => {
    const inspected = JSON.stringify(
      await Promise.all(
        (await servicesOf(app)).map((s) => swarm.manager.json("GET", `/services/${s.ID}`)),
      ),
    );
    const secrets = await swarm.manager.json<
      { ID: string; Spec: { Name: string; Labels: Record<string, string> } }[]
    >("GET", `/secrets?filters=${q({ label: [`dev.hln.app=${app}`] })}`);
    assert.ok(secrets.length >= 1, "a swarm secret for pw");
    for (const sec of secrets) assert.ok(sec.Spec.Name.length <= 64, sec.Spec.Name);
    const secretsText = JSON.stringify(
      await Promise.all(secrets.map((sec) => swarm.manager.json("GET", `/secrets/${sec.ID}`))),
    );
    const files = readdirSync(stateHome, { recursive: true }).map(String);
    const state = files
      .filter((f) => f.endsWith(`${app}.json`))
      .map((f) => readFileSync(join(stateHome, f), "utf8"))
      .join("\n");
    assert.ok(state.length > 0, `no state file for ${app} in ${files.join(" ")}`);
    console.log(
      `# g. ${secrets.length} swarm secret(s) ${secrets.map((s) => s.Spec.Name).join(" ")}; searched ${inspected.length} B of inspect, ${state.length} B of state, ${printed.join("").length} B of output`,
    );
    const forms = [pw, Buffer.from(pw).toString("base64")];
    for (const [what, t] of [
      ["service inspect", inspected],
      ["secret inspect", secretsText],
      ["the state file", state],
      ["hln's output", printed.join("\n")],
    ] as const)
      for (const form of forms) assert.ok(!t.includes(form), `${what} holds the secret`);
  });

  it("h. goes down leaving no service, secret or network of the app on the manager", async () => {
    const r = ok(await hln(["down", app, "-y"]), "down");
    console.log(`# h. down: ${Math.round(r.ms / 1000)} s`);
    await assertGone(app);
  });
});

describe("the official web-api-db stack, unchanged, on the swarm", () => {
  const app = newApp("w");
  let port: number;
  /** Where web's published port answers. */
  let host: string;
  /**
   * `hln up` of the official stack with the api at 2 replicas; without `registry` the one
   * recorded by the last up is used.
   */
  const upWeb = (sets: string[], o: { registry: boolean; timeoutMs?: number }) =>
    hln(
      [
        "up",
        app,
        "-s",
        "web-api-db",
        ...(o.registry ? ["--registry", `http://${swarm.registry}`] : []),
        ...[`port=${port}`, ...sets, "apiReplicas=2"].flatMap((v) => ["--set", v]),
        ...meshFlags,
      ],
      o.timeoutMs,
    );

  it("a. comes up as swarm services: a request through nginx reaches a row in PostgreSQL", async () => {
    port = await freePort();
    const r = ok(await upWeb([], { registry: true, timeoutMs: 1_500_000 }), "up");
    console.log(`# a. web-api-db first up on the swarm: ${Math.round(r.ms / 1000)} s`);
    assert.match(`${r.stdout}\n${r.stderr}`, /on the swarm managed by /);
    const names = (await servicesOf(app)).map((s) => s.Spec.Name);
    for (const s of ["db", "api", "web"])
      assert.ok(names.includes(`hln-${app}-${s}`), names.join(" "));
    // Without the mesh the port answers only on the node running web's task.
    const [webTask] = await until("web runs", async () => {
      const ts = await runningTasks(`hln-${app}-web`);
      return ts.some((t) => t.Status.State === "running") ? ts : undefined;
    });
    host = meshFlags.length ? swarm.nodes.find((n) => n.id === webTask!.NodeID)!.addr : "127.0.0.1";
    console.log(`#    web runs on ${host}`);
    const apiNodes = new Set((await runningTasks(`hln-${app}-api`)).map((t) => t.NodeID));
    console.log(`#    the api's 2 tasks run on ${apiNodes.size} nodes`);
    assert.equal(apiNodes.size, 2, "the api's replicas spread over both nodes");
    const items = JSON.parse(await text(`http://${host}:${port}/api/items`)) as {
      greeting: string;
      items: { name: string }[];
    };
    assert.equal(items.greeting, "hello");
    assert.ok(items.items.length > 0, JSON.stringify(items));
  });

  it("c. changes nothing on a second up", async () => {
    const before = (await servicesOf(app)).map((s) => [s.Spec.Name, s.Version.Index]);
    const r = ok(await upWeb([], { registry: false }), "second up");
    console.log(`# c. web-api-db second up: ${Math.round(r.ms / 1000)} s`);
    assert.match(r.stdout, /is up to date/);
    assert.deepEqual(
      (await servicesOf(app)).map((s) => [s.Spec.Name, s.Version.Index]),
      before,
    );
  });

  it("d. rolls the api on a greeting change while requests through nginx keep being answered", async () => {
    const api = `hln-${app}-api`;
    const before = await service(api);
    // Each answer runs psql in the api: seconds on a loaded machine, so a request fails only
    // on an error or a non-2xx answer, not by being slow.
    const poller = startPoller(`http://${host}:${port}/api/items`, {
      everyMs: 100,
      timeoutMs: 15_000,
    });
    let r: CliResult;
    try {
      r = await upWeb(["greeting=bonjour"], { registry: true });
    } finally {
      await until("the api's update ends", async () => {
        const s = await service(api);
        return s.Version.Index !== before.Version.Index &&
          ["completed", "paused", "rollback_completed"].includes(s.UpdateStatus?.State ?? "")
          ? true
          : undefined;
      }).catch(() => undefined);
    }
    const polled = await poller.stop();
    ok(r, "up greeting=bonjour");
    const after = await service(api);
    console.log(
      `# d. web-api-db api rolled (${after.Spec.UpdateConfig?.Order}, update ${after.UpdateStatus?.State}): ${polled.failed} failed of ${polled.total} requests through nginx (slowest ${polled.slowestMs} ms); failures ${JSON.stringify(polled.failures)}`,
    );
    const items = JSON.parse(await text(`http://${host}:${port}/api/items`)) as {
      greeting: string;
    };
    assert.equal(items.greeting, "bonjour");
    assert.equal(after.Spec.UpdateConfig?.Order, "start-first");
    assert.equal(polled.failed, 0, polled.failures.join("\n"));
  });

  it("g. keeps the database password out of service inspect, the state file and the output", async () => {
    const inspected = JSON.stringify(
      await Promise.all(
        (await servicesOf(app)).map((s) => swarm.manager.json("GET", `/services/${s.ID}`)),
      ),
    );
    const state = readdirSync(stateHome, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(`${app}.json`))
      .map((f) => readFileSync(join(stateHome, f), "utf8"))
      .join("\n");
    assert.ok(state.length > 0, "a state file");
    const forms = [dbPassword, Buffer.from(dbPassword).toString("base64")];
    for (const [what, t] of [
      ["service inspect", inspected],
      ["the state file", state],
      ["hln's output", printed.join("\n")],
    ] as const)
      for (const form of forms) assert.ok(!t.includes(form), `${what} holds the password`);
  });

  it("h. goes down leaving no service, secret or network of the app on the manager", async () => {
    const r = ok(await hln(["down", app, "-y"]), "down");
    console.log(`# h. web-api-db down: ${Math.round(r.ms / 1000)} s`);
    await assertGone(app);
  });
});
