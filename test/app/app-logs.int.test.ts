/**
 * appLogs on an app laid out by hand: lines merged in time order, one service, and a
 * follow that moves to a service's new container when it is replaced, as hln up does.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type AppLogLine, appLogs } from "../../src/app/app-logs.js";
import { containerLogs } from "../../src/docker/containers.js";
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
});
