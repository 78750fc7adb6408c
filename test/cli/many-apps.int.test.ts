/**
 * Commands that ask about many apps at once make many requests at once, each listening for
 * Ctrl-C on the run's signal: Node must not take that for a leak and print a warning.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { HandApp, idle, localDocker } from "../helpers/hand-app.js";
import { runCli } from "../helpers/run-cli.js";

describe("many apps at once", () => {
  const docker = localDocker();
  const apps = Array.from({ length: 12 }, () => new HandApp(docker));
  after(async () => {
    for (const a of apps) await a.cleanup();
    docker.close();
  });

  it("hln status and hln list apps print no Node warning", async () => {
    await Promise.all(
      apps.map((a) => a.create([{ service: "s", cmd: idle("true") }], { volume: false })),
    );
    for (const args of [["status"], ["list", "apps"]]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      for (const a of apps) assert.ok(r.stdout.includes(a.app), `${args.join(" ")}: ${a.app}`);
      assert.doesNotMatch(r.stderr, /Warning/, `${args.join(" ")}: ${r.stderr}`);
    }
  });
});
