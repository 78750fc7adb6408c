/**
 * hln logs on an app laid out by hand: prefixes padded to the longest service name, one
 * service, the flags' one-line errors, -f ended quietly by Ctrl-C with exit 0, and -f
 * ended by the app's removal with one line.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { containerLogs, removeContainer } from "../../src/docker/containers.js";
import { HandApp, idle, localDocker } from "../helpers/hand-app.js";
import { assertOneLineError, repoRoot, runCli } from "../helpers/run-cli.js";

const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));
const docker = localDocker();
const hand = new HandApp(docker);

before(async () => {
  await hand.create([{ service: "api", cmd: idle("echo api one; echo api two") }], {
    volume: false,
  });
  for await (const l of containerLogs(docker, hand.ids.get("api")!, { follow: true }))
    if (l.text === "api two") break;
  await hand.add({ service: "worker", cmd: idle("echo worker one") });
  for await (const l of containerLogs(docker, hand.ids.get("worker")!, { follow: true }))
    if (l.text === "worker one") break;
});
after(async () => {
  await hand.cleanup();
  docker.close();
});

describe("hln logs", () => {
  it("prefixes each line with its service, padded to the longest name", async () => {
    const r = await runCli(["logs", hand.app]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "api    | api one\napi    | api two\nworker | worker one\n");
    const one = await runCli(["logs", hand.app, "worker", "--tail", "1", "--since", "1h"]);
    assert.equal(one.stdout, "worker | worker one\n");
  });

  it("refuses bad flags, an unknown service and an unknown app in one line", async () => {
    assertOneLineError(
      await runCli(["logs", hand.app, "--since", "yesterday"]),
      /^hln: error: --since yesterday: expected a duration such as 10m or 2h, or a time such as 2026-12-02T10:00:00Z$/,
    );
    assertOneLineError(
      await runCli(["logs", hand.app, "--tail", "-3"]),
      /^hln: error: --tail -3: expected a number of lines, or all$/,
    );
    assertOneLineError(
      await runCli(["logs", hand.app, "db"]),
      new RegExp(`^hln: error: app ${hand.app} has no service "db" \\(services: api, worker\\)$`),
    );
    assertOneLineError(
      await runCli(["logs", `${hand.app}x`]),
      new RegExp(`^hln: error: app "${hand.app}x" does not exist on `),
    );
  });

  it("-f keeps going until Ctrl-C, then ends quietly with exit 0", async () => {
    const f = followCli(["logs", hand.app, "api", "-f"]);
    await f.printed("api | api two\n");
    f.child.kill("SIGINT");
    assert.equal(await f.exited, 0, f.output().stderr);
    assert.equal(f.output().stdout, "api | api one\napi | api two\n");
    assert.equal(f.output().stderr, "");
  });

  it("-f ends with one line when the app is removed meanwhile", { timeout: 120_000 }, async () => {
    const gone = new HandApp(docker);
    let f: ReturnType<typeof followCli> | undefined;
    try {
      await gone.create([{ service: "api", cmd: idle("echo api up") }], { volume: false });
      f = followCli(["logs", gone.app, "-f"]);
      await f.printed("api | api up\n");
      // As `hln down` from another shell removes it.
      await removeContainer(docker, gone.ids.get("api")!, { force: true });
      assert.equal(await f.exited, 0, f.output().stderr);
      assert.equal(f.output().stdout, "api | api up\n");
      assert.equal(f.output().stderr, `hln: app ${gone.app} is gone (no containers left)\n`);
    } finally {
      if (f && f.child.exitCode === null) f.child.kill("SIGKILL");
      await gone.cleanup();
    }
  });
});

/** Runs hln in a child process, which Ctrl-C can reach. */
function followCli(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const waiting: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (d) => {
    stdout += d;
    for (const w of waiting) if (stdout.includes(w.text)) w.resolve();
  });
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    printed: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (stdout.includes(text)) return resolve();
        waiting.push({ text, resolve });
        exited.then(() => reject(new Error(`hln ended without printing ${text}: ${stderr}`)));
      }),
  };
}
