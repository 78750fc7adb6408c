/**
 * A Docker engine that takes connections and then says nothing: every wait hln makes on
 * it ends, with an error naming what went unanswered, or on the caller's signal. The
 * "engine" is a real TCP server that answers only what each case lets it.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSession } from "../../src/buildkit/session.js";
import { pushImage, saveImage } from "../../src/docker/images.js";
import { type Engine, engineInfo, openEngine } from "../../src/engine/engine.js";
import { HlnError } from "../../src/errors.js";
import { createDag } from "../../src/sdk/dag.js";
import { settlesWithin } from "../helpers/hang-guard.js";

type Answer = "ok" | "silent" | "101-then-silent";

/** Answers `/_ping`, `/version` and `/info` as Docker does; `/grpc` and `/session` as told. */
async function fakeDocker(upgrades: Answer, json: Answer = "ok") {
  const sockets = new Set<net.Socket>();
  const waiting = new Map<string, () => void>();
  const asked = new Set<string>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let head = "";
    s.on("data", (d) => {
      head += d;
      if (!head.includes("\r\n\r\n")) return;
      const path = /^\w+ (\S+) HTTP/.exec(head)?.[1] ?? "";
      head = "";
      asked.add(path.replace(/^\/v[\d.]+/, "").replace(/\?.*/, ""));
      for (const [p, wake] of waiting) if (asked.has(p)) wake();
      const send = (body: string) =>
        s.write(
          `HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      if (path.endsWith("/_ping")) send("OK");
      else if (/\/(version|info)$/.test(path)) {
        if (json === "ok")
          send(
            JSON.stringify({ Version: "26.1.5", ApiVersion: "1.45", Os: "linux", Arch: "amd64" }),
          );
      } else if (/\/images\/(get\?|[^/]+\/push\?)/.test(path)) {
        // A stream that starts and then stalls: a transfer that stopped half-way.
        s.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        s.write("2\r\n{}\r\n");
      } else if (/\/(grpc|session)$/.test(path) && upgrades === "101-then-silent") {
        s.write("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
      }
      // Anything else: taken, never answered.
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` },
    endpoint: `tcp://127.0.0.1:${port}`,
    /** Resolves once `path` was asked for. */
    asked: (path: string) =>
      new Promise<void>((r) => {
        if (asked.has(path)) r();
        else waiting.set(path, r);
      }),
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

// Small bounds keep the test short; the answer bound is five times the first answer's.
const timeoutMs = 200;

describe("an engine that goes silent", () => {
  const servers: { close(): void }[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  const unanswered: [string, Answer, Answer, string, (e: Engine) => Promise<unknown>, string][] = [
    [
      "engine info fails naming the upgrade BuildKit never answered",
      "silent",
      "ok",
      "engine info",
      engineInfo,
      "ENDPOINT did not answer POST /grpc within 1000 ms",
    ],
    [
      "engine info fails when BuildKit takes the connection and never speaks HTTP/2",
      "101-then-silent",
      "ok",
      "engine info",
      engineInfo,
      "ENDPOINT (docker /grpc) took the connection but sent no HTTP/2 answer within 1000 ms",
    ],
    [
      "engine info fails when the daemon never answers /version",
      "ok",
      "silent",
      "engine info",
      engineInfo,
      "cannot reach ENDPOINT: no answer to GET /version within 1000 ms",
    ],
    [
      "a session fails naming the upgrade the daemon never answered",
      "silent",
      "ok",
      "openSession",
      (engine) => openSession(engine.buildkit),
      "ENDPOINT did not answer POST /session within 1000 ms",
    ],
  ];
  for (const [name, upgrades, json, what, work, message] of unanswered) {
    it(name, async () => {
      const fake = await fakeDocker(upgrades, json);
      servers.push(fake);
      const engine = await openEngine({ env: fake.env, timeoutMs });
      try {
        await unreachable(what, work(engine), message.replace("ENDPOINT", fake.endpoint));
      } finally {
        engine.close();
      }
    });
  }

  it("a run fails naming the BuildKit connection that never spoke", async () => {
    const fake = await fakeDocker("101-then-silent");
    servers.push(fake);
    const engine = await openEngine({ env: fake.env, timeoutMs });
    const dag = createDag({ connection: engine.buildkit });
    try {
      const out = dag.container().from("busybox").withExec(["true"]).stdout();
      await unreachable(
        "stdout()",
        out,
        `${fake.endpoint} (docker /grpc) took the connection but sent no HTTP/2 answer within 1000 ms`,
      );
    } finally {
      await settlesWithin(
        "dag.close()",
        dag.close({ exportCache: false }).catch(() => {}),
      );
      engine.close();
    }
  });

  it("Ctrl-C ends an image save or push whose stream stalled, and leaves no file", async () => {
    // Streams have no bound of their own (a push may pause while the registry works);
    // the run's signal ends them, and the session watchdog fires it on a silent network.
    const fake = await fakeDocker("ok");
    servers.push(fake);
    const engine = await openEngine({ env: fake.env, timeoutMs });
    const dir = await mkdtemp(join(tmpdir(), "hln-stalled-save-"));
    try {
      for (const [what, path, start] of [
        [
          "save",
          "/images/get",
          (signal: AbortSignal) =>
            saveImage(engine.docker, ["app:1"], join(dir, "app.tar"), signal),
        ],
        [
          "push",
          "/images/app/push",
          (signal: AbortSignal) => pushImage(engine.docker, "app:1", "", signal),
        ],
      ] as const) {
        const ac = new AbortController();
        const running: Promise<unknown> = start(ac.signal);
        await settlesWithin(`the ${what} request`, fake.asked(path));
        ac.abort();
        await assert.rejects(settlesWithin(what, running), (e: unknown) => {
          assert.ok(e instanceof HlnError, String(e));
          assert.equal(e.code, "E_ABORTED", `${what}: ${e.message}`);
          return true;
        });
      }
      assert.deepEqual(await readdir(dir), []);
    } finally {
      engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("Ctrl-C ends the wait for an upgrade, bound or no bound", async () => {
    const fake = await fakeDocker("silent");
    servers.push(fake);
    // A first answer bound of a minute: only the signal can end the wait here.
    const engine = await openEngine({ env: fake.env, timeoutMs: 60_000 });
    const ac = new AbortController();
    try {
      const opening = openSession(engine.buildkit, { signal: ac.signal });
      // Ctrl-C once the daemon has the request and sits on it.
      await settlesWithin("the /session request", fake.asked("/session"));
      ac.abort();
      await assert.rejects(settlesWithin("openSession", opening), (e: unknown) => {
        assert.ok(e instanceof HlnError, String(e));
        assert.equal(e.code, "E_ABORTED");
        return true;
      });
    } finally {
      engine.close();
    }
  });
});

/** Asserts `work` fails as an unreachable engine with exactly `message`, and does not hang. */
async function unreachable(what: string, work: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(settlesWithin(what, work), (e: unknown) => {
    assert.ok(e instanceof HlnError, String(e));
    assert.equal(e.code, "E_ENGINE_UNREACHABLE");
    assert.equal(e.message, message);
    return true;
  });
}
