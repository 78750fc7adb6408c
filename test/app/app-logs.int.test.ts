/**
 * appLogs on an app laid out by hand: lines merged in time order, one service, and a
 * follow that moves to a service's new container when it is replaced, as hln up does.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type AppLogLine, appLogs } from "../../src/app/app-logs.js";
import { containerLogs, removeContainer } from "../../src/docker/containers.js";
import { HandApp, idle, localDocker } from "../helpers/hand-app.js";
import { rejection } from "../helpers/rejection.js";

const docker = localDocker();
const apps: HandApp[] = [];
after(async () => {
  for (const a of apps) await a.cleanup();
  docker.close();
});

function handApp(): HandApp {
  const a = new HandApp(docker);
  apps.push(a);
  return a;
}

async function collect(lines: AsyncIterable<AppLogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of lines) out.push(`${l.service}|${l.stream}|${l.text}`);
  return out;
}

/** Waits for a container's own log to show `text`: what it printed before is then on record. */
async function printed(id: string, text: string): Promise<void> {
  for await (const l of containerLogs(docker, id, { follow: true })) if (l.text === text) return;
  throw new Error(`the container ended without printing ${text}`);
}

describe("appLogs", () => {
  it("merges the services' lines in time order, and picks services", async () => {
    const a = handApp();
    await a.create(
      [{ service: "api", cmd: idle("echo api one; echo api oops >&2; echo api two") }],
      {
        volume: false,
      },
    );
    await printed(a.ids.get("api")!, "api two");
    await printed(a.ids.get("api")!, "api oops");
    // Started once api has printed: its line is later than all of api's.
    await a.add({ service: "worker", cmd: idle("echo worker one") });
    await printed(a.ids.get("worker")!, "worker one");

    const all = await collect(appLogs(docker, a.app, {}));
    // Docker stamps stdout and stderr as it reads each pipe, so only lines of one stream,
    // or of things that happened one after the other, have an order to check.
    assert.deepEqual(
      all.filter((l) => l.includes("|stdout|")),
      ["api|stdout|api one", "api|stdout|api two", "worker|stdout|worker one"],
    );
    assert.ok(all.includes("api|stderr|api oops"), all.join("\n"));
    assert.equal(all.at(-1), "worker|stdout|worker one");
    assert.deepEqual(await collect(appLogs(docker, a.app, { services: ["worker"] })), [
      "worker|stdout|worker one",
    ]);
    assert.deepEqual(await collect(appLogs(docker, a.app, { services: ["worker"], tail: 0 })), []);
    const e = await rejection(collect(appLogs(docker, a.app, { services: ["wrker", "api"] })));
    assert.equal(e.code, "E_USAGE");
    assert.equal(e.message, `app ${a.app} has no service "wrker" (services: api, worker)`);
  });

  it("follows a service into its new container when it is replaced, and ends on the signal", async () => {
    const a = handApp();
    await a.create([{ service: "api", cmd: idle("echo first container") }], { volume: false });
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const l of appLogs(docker, a.app, {
      follow: true,
      pollMs: 100,
      signal: stop.signal,
    })) {
      seen.push(l.text);
      // Replaced as hln up recreates a service: the old one goes, a new one takes its name.
      if (l.text === "first container")
        await a.add({ service: "api", cmd: idle("echo second container") });
      if (l.text === "second container") stop.abort();
    }
    assert.deepEqual(seen, ["first container", "second container"]);
  });

  it("with follow, prints the backlog merged in time order first, then new lines, none lost or doubled", async () => {
    const a = handApp();
    // A job that ended long before: its one line is the oldest of all.
    await a.create([{ service: "job", kind: "job", cmd: ["echo", "job done"] }], {
      volume: false,
    });
    await a.add({ service: "worker", cmd: idle("for i in $(seq 1 20); do echo worker $i; done") });
    await printed(a.ids.get("worker")!, "worker 20");
    await a.add({
      service: "ticker",
      cmd: idle("i=0; while true; do echo tick $i; i=$((i+1)); usleep 5000; done"),
    });
    await printed(a.ids.get("ticker")!, "tick 20");

    for (const tail of [undefined, 2]) {
      const backlog = await collect(appLogs(docker, a.app, tail === undefined ? {} : { tail }));
      const stop = new AbortController();
      const seen: string[] = [];
      let lastTick = -1;
      for await (const l of appLogs(docker, a.app, {
        follow: true,
        signal: stop.signal,
        ...(tail === undefined ? {} : { tail }),
      })) {
        seen.push(`${l.service}|${l.stream}|${l.text}`);
        if (l.service === "ticker") lastTick = Number(l.text.split(" ")[1]);
        // Well past the backlog: the seam has been crossed.
        if (seen.length > backlog.length + 30) stop.abort();
      }
      const label = `tail ${tail}:\n${seen.join("\n")}`;
      assert.equal(seen[0], "job|stdout|job done", label);
      // Everything before the ticker's lines is as a read without -f orders it.
      const other = (x: string[]) => x.filter((l) => !l.startsWith("ticker|"));
      assert.deepEqual(other(seen), other(backlog), label);
      const ticks = seen.filter((l) => l.startsWith("ticker|")).map((l) => Number(l.split(" ")[1]));
      const from = ticks[0]!;
      assert.deepEqual(
        ticks,
        ticks.map((_, i) => from + i),
        `no tick lost or doubled, ${label}`,
      );
      assert.ok(lastTick > from, label);
      if (tail === 2) assert.equal(seen.filter((l) => l.startsWith("worker|")).length, 2, label);
    }
  });

  // The timeout only keeps a follow that never ends from hanging the run.
  it("with follow, ends once the app has no containers left", { timeout: 120_000 }, async () => {
    const a = handApp();
    await a.create([{ service: "api", cmd: idle("echo api up") }], { volume: false });
    const seen: string[] = [];
    for await (const l of appLogs(docker, a.app, { follow: true, pollMs: 100 })) {
      seen.push(l.text);
      // Removed as hln down removes it, while it is followed.
      if (l.text === "api up") await removeContainer(docker, a.ids.get("api")!, { force: true });
    }
    assert.deepEqual(seen, ["api up"]);
  });
});
