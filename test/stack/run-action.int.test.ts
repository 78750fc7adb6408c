/**
 * runAction on the real engine: what an action returns and declares comes back with the dag
 * still open, and a declaration error stops the run before anything is solved.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SolveStatus } from "../../src/buildkit/solve-status.js";
import type { Engine } from "../../src/engine/engine.js";
import { defineStack, HlnError, type Stack } from "../../src/index.js";
import { type PreparedStack, runAction } from "../../src/stack/public.js";
import { nonce, requireEngine, StatusLog } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

function prepared(stack: Stack): PreparedStack {
  const directory = tempDir("hln-run-action-");
  return {
    stack,
    file: join(directory, "stack.ts"),
    directory,
    source: "local",
    reference: directory,
    inputs: { values: {}, origins: {}, secrets: {}, recorded: {} },
  };
}

describe("runAction", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  it("returns the action's result and the app it declared, with the dag still open", async () => {
    const said = nonce();
    const unbuilt = nonce();
    const stack = defineStack({
      name: "tiny",
      version: "0.1.0",
      actions: {
        async up({ dag, app }) {
          const out = await dag
            .container()
            .from("busybox:latest")
            .withExec(["echo", said])
            .stdout();
          const web = dag.container().from("busybox:latest").withExec(["echo", unbuilt]);
          const ref = app.service("web", web, {
            command: ["httpd", "-f"],
            volumes: { "/data": app.volume("data") },
            ports: [{ host: 18080, container: 80 }],
          });
          return { out: out.trim(), host: ref.hostname, when: new Map([["a", 1]]) };
        },
      },
    });
    const log = new StatusLog();
    const p = prepared(stack);
    const run = await runAction(
      {
        engine,
        prepared: p,
        action: "up",
        env: process.env,
        signal: AbortSignal.timeout(120_000),
        onStatus: log.onStatus,
      },
      async (r) => {
        // The dag is still usable here, as hln up needs it to build the service images.
        const more = await r.dag
          .container()
          .from("busybox:latest")
          .withExec(["echo", "then"])
          .stdout();
        return { ...r, more };
      },
    );
    assert.deepEqual(run.result, { out: said, host: "web", when: { a: 1 } });
    assert.equal(run.more, "then\n");
    assert.equal(run.where, `${p.file}: action "up"`);
    assert.deepEqual(run.app.volumes, ["data"]);
    assert.deepEqual(
      run.app.services.map((s) => [s.name, s.kind, s.restart, s.command]),
      [["web", "service", "unless-stopped", ["httpd", "-f"]]],
    );
    assert.equal(log.byName(new RegExp(said)).length, 1, "the action's own step ran");
    assert.deepEqual(log.byName(new RegExp(unbuilt)), [], "a declared image is not built");
  });

  it("fails on a dependsOn typo before any solve, naming the file and action", async () => {
    const vertexes: string[] = [];
    const onStatus = (s: SolveStatus) => vertexes.push(...s.vertexes.map((v) => v.name));
    const stack = defineStack({
      name: "typo",
      version: "0.1.0",
      actions: {
        up({ dag, app }) {
          const c = dag.container().from("busybox:latest");
          app.service("db", c);
          app.service("api", c, { dependsOn: { dbb: "started" } });
        },
        bad({ dag, app }) {
          app.service("web", dag.container().from("busybox:latest"), {
            ports: [{ host: 0, container: 80 }],
          });
        },
      },
    });
    const p = prepared(stack);
    let thenRan = false;
    const then = async () => {
      thenRan = true;
    };
    const options = {
      engine,
      prepared: p,
      env: process.env,
      signal: AbortSignal.timeout(60_000),
      onStatus,
    };
    await assert.rejects(
      runAction({ ...options, action: "up" }, then),
      (e) =>
        e instanceof HlnError &&
        e.code === "E_STACK_INVALID" &&
        e.message ===
          `${p.file}: action "up": service "api": dependsOn "dbb": no service or job of that name (declared: db)`,
    );
    await assert.rejects(
      runAction({ ...options, action: "bad" }, then),
      (e) =>
        e instanceof HlnError &&
        e.code === "E_STACK_INVALID" &&
        e.message ===
          `${p.file}: action "bad": service "web": ports[0].host: expected a port number from 1 to 65535, got a number (0)`,
    );
    await assert.rejects(
      runAction({ ...options, action: "down" }, then),
      (e) =>
        e instanceof HlnError &&
        e.code === "E_USAGE" &&
        e.message === `${p.file}: stack "typo" has no action "down" (actions: up, bad)`,
    );
    assert.equal(thenRan, false);
    assert.deepEqual(vertexes, [], "nothing was solved");
  });

  it("leaves no listener on the caller's signal, which a long-lived process reuses run after run", async () => {
    // scripts/soak.ts found one abort listener left per run: Node warned at the eleventh.
    const stack = defineStack({
      name: "listeners",
      version: "0.1.0",
      actions: {
        async up({ dag }) {
          return dag.container().from("busybox:latest").withExec(["echo", "same"]).stdout();
        },
      },
    });
    const p = prepared(stack);
    const signal = new AbortController().signal;
    const before = getEventListeners(signal, "abort").length;
    for (let i = 0; i < 3; i++)
      await runAction(
        { engine, prepared: p, action: "up", env: process.env, signal },
        async () => {},
      );
    assert.equal(getEventListeners(signal, "abort").length, before);
  });
});
