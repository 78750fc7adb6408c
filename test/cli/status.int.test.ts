/**
 * hln status and hln list apps on an app laid out by hand: the table, a failed service
 * shown as such with exit 0, the state file's outputs and last deploy, JSON, and the
 * one-line error for an app that does not exist.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { appStateDirectory, fileStateStore } from "../../src/app/state-store.js";
import { freePort } from "../helpers/free-port.js";
import { HandApp, idle, localDocker } from "../helpers/hand-app.js";
import { assertOneLineError, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const docker = localDocker();
const env = { XDG_STATE_HOME: tempDir("hln-status-state-") };
const hand = new HandApp(docker);
let port = 0;

before(async () => {
  port = await freePort();
  await hand.create([
    { service: "api", cmd: idle("echo up"), ports: [{ host: port, container: 80 }] },
    { service: "migrate", kind: "job", cmd: ["sh", "-c", "exit 1"] },
  ]);
  const engineId = (await docker.info()).ID!;
  await fileStateStore({ env, engineId }).write({
    app: hand.app,
    engine: { id: engineId, endpoint: docker.endpoint },
    stack: { ref: "web-api-db", name: "web-api-db", version: "1.2.0" },
    inputs: {},
    secretSources: {},
    outputs: { url: `http://127.0.0.1:${port}` },
    services: {},
    history: [
      {
        at: "2026-12-02T00:00:00.000Z",
        action: "up",
        result: "failed",
        error: "migrate exited 1",
        stackVersion: "1.2.0",
        changes: [],
        by: { user: "u", host: "h", pid: 1 },
      },
    ],
  });
});
after(async () => {
  await hand.cleanup();
  docker.close();
});

describe("hln status", () => {
  it("prints the services, the failed one plainly, the outputs and the last deploy, and exits 0", async () => {
    const r = await runCli(["status", hand.app], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `app ${hand.app}  web-api-db@1.2.0`);
    assert.match(lines[1]!, /^SERVICE +KIND +STATE +IMAGE +PORTS +SINCE$/);
    assert.match(
      lines[2]!,
      new RegExp(
        `^api +service +running +busybox:latest +http://127\\.0\\.0\\.1:${port} +\\d+[smhd] ago$`,
      ),
    );
    assert.match(lines[3]!, /^migrate +job +failed \(exit 1\) +busybox:latest +- +\d+[smhd] ago$/);
    assert.deepEqual(lines.slice(4), [
      "outputs:",
      `  url: http://127.0.0.1:${port}`,
      `volumes: ${hand.volume}`,
      "last deploy: 2026-12-02T00:00:00.000Z failed: migrate exited 1",
      "1 of 2 not ok: migrate (failed (exit 1))",
    ]);

    const json = await runCli(["status", hand.app, "-o", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const s = JSON.parse(json.stdout);
    assert.equal(s.app, hand.app);
    assert.deepEqual(
      s.services.map((x: { service: string; ok: boolean }) => [x.service, x.ok]),
      [
        ["api", true],
        ["migrate", false],
      ],
    );
  });

  it("with no app, shows every app", async () => {
    const r = await runCli(["status", "-o", "json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).some((s: { app: string }) => s.app === hand.app));
  });

  it("names an unknown app in one line, exit 2, listing the apps there are", async () => {
    assertOneLineError(
      await runCli(["status", `${hand.app}x`], { env }),
      new RegExp(
        `^hln: error: app "${hand.app}x" does not exist on unix:///var/run/docker\\.sock \\(apps: .*\\b${hand.app}\\b`,
      ),
    );
    assertOneLineError(
      await runCli(["status", "../x"], { env }),
      /^hln: error: app "\.\.\/x" does not exist on /,
    );
    assertOneLineError(
      await runCli(["status", hand.app, "-o", "table"], { env }),
      /^hln: error: --output table: expected yaml or json$/,
    );
  });
});

describe("hln list apps", () => {
  it("lists the app with its stack, services running and last deploy", async () => {
    const r = await runCli(["list", "apps"], { env });
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    assert.match(header!, /^APP +STACK +VERSION +SERVICES +LAST DEPLOY$/);
    assert.ok(
      rows.some((l) =>
        new RegExp(
          `^${hand.app} +web-api-db +1\\.2\\.0 +1/1 +2026-12-02T00:00:00\\.000Z failed$`,
        ).test(l),
      ),
      r.stdout,
    );
    const json = await runCli(["list", "apps", "--output", "json"], { env });
    const row = JSON.parse(json.stdout).find((a: { app: string }) => a.app === hand.app);
    assert.deepEqual(row, {
      app: hand.app,
      stack: "web-api-db",
      version: "1.2.0",
      services: { running: 1, total: 1 },
      lastDeploy: { at: "2026-12-02T00:00:00.000Z", result: "failed" },
    });
  });
});

describe("a damaged state file", () => {
  it("is warned about, and status, list, logs and down still work from the labels", async () => {
    const a = new HandApp(docker);
    const own = { XDG_STATE_HOME: tempDir("hln-status-damaged-") };
    try {
      await a.create([{ service: "api", cmd: idle("echo hi") }], { volume: false });
      const dir = appStateDirectory(own, (await docker.info()).ID!);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${a.app}.json`);
      writeFileSync(file, "{ not json");
      const warning = `hln: warning: state file ${file} is not valid JSON`;
      for (const args of [
        ["status", a.app],
        ["list", "apps"],
      ]) {
        const r = await runCli(args, { env: own });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.stderr.startsWith(warning), r.stderr);
        assert.match(r.stdout, new RegExp(a.app));
      }
      const logs = await runCli(["logs", a.app], { env: own });
      assert.equal(logs.code, 0, logs.stderr);
      const down = await runCli(["down", a.app, "-y"], { env: own });
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, /; it goes with the app\n$/);
      assert.equal(existsSync(file), false);
    } finally {
      await a.cleanup();
    }
  });
});
