/**
 * An app laid out by hand as hln up lays one out: what observeApp, deployedApps and
 * appStatus read of it from the engine's labels, and how status joins the state file.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { deployedApps, observeApp, unknownApp } from "../../src/app/observe.js";
import { appStatus } from "../../src/app/status.js";
import { inspectContainer } from "../../src/docker/containers.js";
import { openDeployEngine } from "../../src/engine/deploy-engine.js";
import { freePort } from "../helpers/free-port.js";
import { HandApp, idle, localDocker } from "../helpers/hand-app.js";

const docker = localDocker();
const hand = new HandApp(docker);
let port = 0;

/** Waits for the engine to say `ok`; the bound is kill-safety, not a speed check. */
async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`hung: still waiting until ${what}`);
}

describe("observeApp and appStatus", () => {
  before(async () => {
    port = await freePort();
    await hand.create([
      {
        service: "api",
        cmd: idle("echo api up"),
        ports: [{ host: port, container: 80 }],
        volumeAt: "/data",
      },
      { service: "migrate", kind: "job", cmd: ["sh", "-c", "echo migrating; exit 3"] },
      { service: "seed", kind: "job", cmd: ["true"] },
      {
        service: "web",
        cmd: idle("true"),
        healthcheck: { Test: ["CMD", "false"], Interval: 200_000_000, Retries: 1 },
      },
      { service: "worker", cmd: idle("true"), start: false },
    ]);
    const web = hand.ids.get("web")!;
    await until("web is unhealthy", async () => {
      const d = await inspectContainer(docker, web);
      return d?.State.Health?.Status === "unhealthy";
    });
  });
  after(async () => {
    await hand.cleanup();
    docker.close();
  });

  it("reads containers, network and volumes from the labels", async () => {
    const o = await observeApp(docker, hand.app);
    assert.deepEqual(
      o.containers.map((c) => [c.service, c.kind, c.state, c.exitCode]),
      [
        ["api", "service", "running", undefined],
        ["migrate", "job", "exited", 3],
        ["seed", "job", "exited", 0],
        ["web", "service", "running", undefined],
        ["worker", "service", "created", undefined],
      ],
    );
    const api = o.containers[0]!;
    assert.equal(api.name, `hln-${hand.app}-api`);
    assert.equal(api.image, "busybox:latest");
    assert.match(api.configHash, /^[0-9a-f]{12}$/);
    assert.ok(api.ports.some((p) => p.host === port && p.container === 80 && p.ip === "127.0.0.1"));
    assert.equal(o.containers[3]!.health, "unhealthy");
    assert.deepEqual(o.network?.name, hand.network);
    assert.deepEqual(o.volumes, [{ name: hand.volume, volume: "data" }]);
    assert.ok((await deployedApps(docker)).includes(hand.app));
  });

  it("says which services are not ok, and why", async () => {
    const s = await appStatus(docker, hand.app, undefined);
    assert.deepEqual(s.stack, { name: "hand", version: "0.0.1", ref: "hand@0.0.1" });
    assert.deepEqual(s.volumes, [hand.volume]);
    assert.deepEqual(
      s.services.map((x) => [x.service, x.state, x.ok]),
      [
        ["api", "running", true],
        ["migrate", "failed (exit 3)", false],
        ["seed", "completed", true],
        ["web", "unhealthy", false],
        ["worker", "not started", false],
      ],
    );
    assert.deepEqual(s.services[0]!.ports, [`http://127.0.0.1:${port}`]);
    assert.ok(s.services[0]!.since && !Number.isNaN(Date.parse(s.services[0]!.since)));
    assert.equal(s.services[4]!.since, undefined);
  });

  it("joins the state file: outputs, last deploy, a service that is missing", async () => {
    const s = await appStatus(docker, hand.app, {
      app: hand.app,
      engine: { id: "x", endpoint: docker.endpoint },
      stack: { ref: "web-api-db", name: "web-api-db", version: "1.0.0" },
      inputs: {},
      secretSources: {},
      outputs: { url: `http://127.0.0.1:${port}` },
      services: { cache: { kind: "service", image: "hln/x/cache:0", configHash: "0" } },
      history: [
        {
          at: "2026-12-02T00:00:00.000Z",
          action: "up",
          result: "failed",
          error: "web: health check failed",
          stackVersion: "1.0.0",
          changes: [],
          by: { user: "u", host: "h", pid: 1 },
        },
      ],
    });
    assert.equal(s.stack?.name, "web-api-db");
    assert.deepEqual(s.outputs, { url: `http://127.0.0.1:${port}` });
    assert.deepEqual(s.lastDeploy, {
      at: "2026-12-02T00:00:00.000Z",
      result: "failed",
      error: "web: health check failed",
    });
    const cache = s.services.find((x) => x.service === "cache");
    assert.deepEqual([cache?.state, cache?.ok], ["missing", false]);
  });

  it("names an unknown app and the apps that exist", async () => {
    const e = unknownApp("shopp", "unix:///var/run/docker.sock", ["a", "b"]);
    assert.equal(e.code, "E_USAGE");
    assert.equal(
      e.message,
      'app "shopp" does not exist on unix:///var/run/docker.sock (apps: a, b)',
    );
    assert.match(unknownApp("x", "e", []).message, /\(no apps\)$/);
  });

  it("opens the deploy engine with its ID, and fails in one line naming where it came from", async () => {
    const engine = await openDeployEngine({ env: { PATH: process.env.PATH } });
    try {
      assert.equal(engine.id, (await docker.info()).ID);
      assert.equal(engine.source, "default socket");
    } finally {
      engine.close();
    }
    await assert.rejects(
      openDeployEngine({ env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } }),
      (e: Error & { code?: string }) =>
        e.code === "E_ENGINE_UNREACHABLE" &&
        /\/nonexistent\/docker\.sock.*\(engine from DOCKER_HOST\)/.test(e.message),
    );
  });
});
