/**
 * hln down on an app laid out by hand: what it asks, what it removes (containers, network,
 * image tags, state file), what it keeps (named volumes, unless --volumes), and its
 * one-line refusals.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileStateStore } from "../../src/app/state-store.js";
import { createScrubber } from "../../src/buildkit/scrubber.js";
import { runDown } from "../../src/cli/commands/down.js";
import type { CliContext } from "../../src/cli/context.js";
import {
  createContainer,
  inspectContainer,
  listContainers,
  removeContainer,
  startContainer,
} from "../../src/docker/containers.js";
import { listImages } from "../../src/docker/images.js";
import { listNetworks } from "../../src/docker/networks.js";
import { listVolumes } from "../../src/docker/volumes.js";
import { HandApp, idle, localDocker } from "../helpers/hand-app.js";
import { rejection } from "../helpers/rejection.js";
import { assertOneLineError, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const docker = localDocker();
const env = { XDG_STATE_HOME: tempDir("hln-down-state-") };
const apps: HandApp[] = [];
let engineId = "";

before(async () => {
  engineId = (await docker.info()).ID!;
});
after(async () => {
  for (const a of apps) await a.cleanup();
  docker.close();
});

async function handApp(): Promise<HandApp> {
  const a = new HandApp(docker);
  apps.push(a);
  await a.create([
    { service: "api", cmd: idle("echo up"), volumeAt: "/data" },
    { service: "migrate", kind: "job", cmd: ["true"] },
  ]);
  return a;
}

function store() {
  return fileStateStore({ env, engineId });
}

async function writeState(app: string): Promise<void> {
  await store().write({
    app,
    engine: { id: engineId, endpoint: docker.endpoint },
    stack: { ref: "hand", name: "hand", version: "0.0.1" },
    inputs: {},
    secretSources: {},
    outputs: null,
    services: {},
    history: [],
  });
}

/** What the engine still holds of the app. */
async function left(a: HandApp) {
  const labels = [`dev.hln.app=${a.app}`];
  return {
    containers: (await listContainers(docker, { labels, all: true })).length,
    networks: (await listNetworks(docker, { labels })).length,
    volumes: (await listVolumes(docker, { labels })).map((v) => v.Name),
    images: (await listImages(docker, { reference: `hln/${a.app}/*` })).length,
  };
}

describe("hln down", () => {
  it("removes containers, network, image tags and state; keeps the volume and says so", async () => {
    const a = await handApp();
    const tag = await a.tagImage("api");
    await writeState(a.app);
    const r = await runCli(["down", a.app, "-y"], { env });
    assert.equal(r.code, 0, r.stderr);
    // The state names a stack no catalogue holds: its down action cannot run, and down says
    // so once and goes on.
    assert.equal(
      r.stderr,
      "hln: warning: the stack's down action was not run: no stack named hand; stacks: hello, node-api, web-api-db (see `hln list stacks`; npm:PACKAGE installs one from npm)\n",
    );
    assert.deepEqual(r.stdout.trimEnd().split("\n").sort(), [
      `kept volume ${a.volume} (pass --volumes to remove it)`,
      `removed container hln-${a.app}-api`,
      `removed container hln-${a.app}-migrate`,
      `removed image ${tag}`,
      `removed network ${a.network}`,
    ]);
    assert.deepEqual(await left(a), { containers: 0, networks: 0, volumes: [a.volume], images: 0 });
    assert.equal(await store().read(a.app), undefined);
    assert.ok(
      (await listImages(docker, { reference: "busybox:latest" })).length > 0,
      "busybox stays",
    );

    // What is left is the volume: the app still exists until it goes too.
    const v = await runCli(["down", a.app, "-y", "--volumes"], { env });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `removed volume ${a.volume}\n`);
    assert.deepEqual((await left(a)).volumes, []);
    assertOneLineError(
      await runCli(["down", a.app, "-y"], { env }),
      new RegExp(`^hln: error: app "${a.app}" does not exist on unix:///var/run/docker.sock \\(`),
    );
  });

  it("refuses in one line without a terminal and without -y, and removes nothing", async () => {
    const a = await handApp();
    assertOneLineError(
      await runCli(["down", a.app], { env }),
      new RegExp(
        `^hln: error: down ${a.app}: no terminal to confirm on; pass -y to remove the app without asking$`,
      ),
    );
    assert.equal((await left(a)).containers, 2);
  });

  it("names an unknown app and the apps there are", async () => {
    const a = await handApp();
    const r = await runCli(["down", `${a.app}x`, "-y"], { env });
    assertOneLineError(
      r,
      new RegExp(
        `^hln: error: app "${a.app}x" does not exist on unix:///var/run/docker.sock \\(apps: .*\\b${a.app}\\b`,
      ),
    );
  });

  it("asks on a terminal: no keeps everything, yes removes", async () => {
    const a = await handApp();
    const answer = async (text: string) => {
      const stdin = Object.assign(new PassThrough(), { isTTY: true });
      const stderr = Object.assign(new PassThrough(), { isTTY: true });
      const stdout = new PassThrough();
      let asked = "";
      stderr.on("data", (d) => (asked += d));
      let printed = "";
      stdout.on("data", (d) => (printed += d));
      stdin.end(text);
      const ctx = {
        env,
        stdin,
        stdout,
        stderr,
        signal: new AbortController().signal,
        redactor: createScrubber(),
        now: () => Date.now(),
      } as unknown as CliContext;
      let error: unknown;
      let stateSeen: unknown = "not called";
      try {
        await runDown(a.app, {}, ctx, {
          beforeRemove: async (s) => {
            stateSeen = s;
          },
        });
      } catch (err) {
        error = err;
      }
      return { asked, printed, error, stateSeen };
    };
    const no = await answer("n\n");
    assert.equal(no.asked, `Remove app ${a.app} (2 containers, network ${a.network})? [y/N] `);
    assert.equal((no.error as { code?: string }).code, "E_ABORTED");
    assert.equal(no.stateSeen, "not called");
    assert.equal((await left(a)).containers, 2);

    const yes = await answer("y\n");
    assert.equal(yes.error, undefined);
    assert.equal(yes.stateSeen, undefined, "the hook runs, with no state on this machine");
    assert.match(yes.printed, /removed network/);
    assert.equal((await left(a)).containers, 0);
  });

  it("names a container of someone else's that keeps the app's network in use", async () => {
    const a = await handApp();
    const outsider = `outsider-${a.app}`;
    const id = await createContainer(docker, outsider, {
      Image: "busybox:latest",
      Cmd: idle("true"),
      HostConfig: { NetworkMode: a.network },
    });
    try {
      await startContainer(docker, id);
      const r = await runCli(["down", a.app, "-y"], { env });
      assertOneLineError(
        r,
        new RegExp(
          `^hln: error: network ${a.network} is still used by container ${outsider}, which is not part of app ${a.app}: disconnect it \\(docker network disconnect ${a.network} ${outsider}\\) and run hln down ${a.app} again$`,
        ),
      );
      assert.ok(await inspectContainer(docker, id), "the outsider is left alone");
    } finally {
      await removeContainer(docker, id, { force: true });
    }
  });

  it("with --no-wait, does not wait for another hln: a held lock is one line naming its owner", async () => {
    const a = await handApp();
    const lock = await store().lock(a.app, { command: "hln up (test)" });
    try {
      // Without --no-wait it waits its turn (test/cli/concurrent-up.int.test.ts).
      const r = await runCli(["down", a.app, "-y", "--no-wait"], { env });
      assert.equal(r.code, 75, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /hln up \(test\)/);
      assert.equal((await left(a)).containers, 2);
    } finally {
      lock.release();
    }
    const e = await rejection(
      runDown(a.app, { yes: true }, {
        env,
        stdout: new PassThrough(),
        stderr: new PassThrough(),
        signal: AbortSignal.abort(),
        redactor: createScrubber(),
        now: () => Date.now(),
      } as unknown as CliContext),
    );
    assert.equal(e.code, "E_ABORTED");
    assert.equal((await left(a)).containers, 2);
  });
});
