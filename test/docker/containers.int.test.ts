/**
 * Container calls against the real engine at /var/run/docker.sock, with busybox:latest
 * (seeded). Every container carries a nonce label and is removed in `after`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDockerClient, type DockerClient } from "../../src/docker/client.js";
import {
  containerLogs,
  createContainer,
  inspectContainer,
  type LogLine,
  listContainers,
  putArchive,
  removeContainer,
  renameContainer,
  startContainer,
  stopContainer,
  waitContainer,
} from "../../src/docker/containers.js";
import { tarFiles } from "../../src/docker/tar-file.js";
import { type Dialer, unixDialer } from "../../src/transport/dialer.js";
import { nonce } from "../helpers/engine.js";
import { settlesWithin } from "../helpers/hang-guard.js";

const socket = "/var/run/docker.sock";
const run = nonce();
const label = `dev.hln.test=${run}`;

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

const texts = (lines: LogLine[], stream: "stdout" | "stderr") =>
  lines.filter((l) => l.stream === stream).map((l) => l.text);

describe("docker containers", () => {
  let docker: DockerClient;
  const create = (name: string, body: Record<string, unknown>) =>
    createContainer(docker, name, {
      Image: "busybox:latest",
      ...body,
      Labels: { "dev.hln.test": run },
    });

  before(async () => {
    docker = createDockerClient(unixDialer(socket));
    try {
      await docker.ping();
    } catch (err) {
      throw new Error(`these tests need the Docker engine at ${socket}: ${(err as Error).message}`);
    }
  });

  after(async () => {
    for (const c of await listContainers(docker, { labels: [label] }))
      await removeContainer(docker, c.Id, { force: true });
    docker.close();
  });

  it("creates, starts, follows, waits, inspects, renames and removes a container", async () => {
    const name = `hln-test-${run}-job`;
    const id = await create(name, {
      Cmd: ["sh", "-c", "echo a; echo b >&2; sleep 1; echo c; exit 3"],
    });
    assert.match(id, /^[0-9a-f]{64}$/);

    const listed = await listContainers(docker, { labels: [label, "dev.hln.test"] });
    assert.deepEqual(
      listed.map((c) => [c.Id, c.Names, c.State, c.Labels["dev.hln.test"]]),
      [[id, [`/${name}`], "created", run]],
    );
    assert.deepEqual(await listContainers(docker, { labels: [label], all: false }), []);

    await startContainer(docker, id);
    // Follows until the container stops; stdout and stderr come apart.
    const followed = await settlesWithin(
      "logs -f",
      collect(containerLogs(docker, id, { follow: true })),
    );
    assert.deepEqual(texts(followed, "stdout"), ["a", "c"]);
    assert.deepEqual(texts(followed, "stderr"), ["b"]);
    assert.equal(await waitContainer(docker, id), 3);

    const details = await inspectContainer(docker, id);
    assert.equal(details?.Name, `/${name}`);
    assert.equal(details?.State.Status, "exited");
    assert.equal(details?.State.Running, false);
    assert.equal(details?.State.ExitCode, 3);
    assert.deepEqual(details?.Config.Labels, { "dev.hln.test": run });

    assert.deepEqual(await collect(containerLogs(docker, id, { tail: 1 })), [
      { stream: "stdout", text: "c" },
    ]);
    const stamped = await collect(containerLogs(docker, id, { timestamps: true, tail: "all" }));
    assert.deepEqual(stamped.map((l) => l.text).sort(), ["a", "b", "c"]);
    for (const l of stamped)
      assert.match(l.time ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    // `since` in the future: nothing logged yet.
    const later = Math.floor(Date.now() / 1000) + 3600;
    assert.deepEqual(await collect(containerLogs(docker, id, { since: later })), []);

    // Already stopped (304) is fine.
    await stopContainer(docker, id, { timeoutS: 1 });

    await renameContainer(docker, id, `${name}-old`);
    assert.equal((await inspectContainer(docker, `${name}-old`))?.Id, id);
    assert.equal(await inspectContainer(docker, name), undefined);

    await removeContainer(docker, id);
    assert.equal(await inspectContainer(docker, id), undefined);
    // Gone already: fine, for remove and stop alike.
    await removeContainer(docker, id);
    await stopContainer(docker, id);
  });

  it("names the container whose name is taken, on create and on rename", async () => {
    const name = `hln-test-${run}-taken`;
    const id = await create(name, { Cmd: ["true"] });
    const other = await create(`${name}-2`, { Cmd: ["true"] });
    await assert.rejects(create(name, { Cmd: ["true"] }), {
      code: "E_USAGE",
      message: `unix://${socket}: POST /containers/create?name=${name}: the name "${name}" is taken by container ${id.slice(0, 12)}`,
    });
    await assert.rejects(renameContainer(docker, other, name), {
      code: "E_USAGE",
      message: `unix://${socket}: POST /containers/${other}/rename?name=${name}: the name "${name}" is taken by container ${id.slice(0, 12)}`,
    });
  });

  it("names the endpoint, method and path when the engine refuses", async () => {
    const missing = `hln-test-${run}-missing`;
    await assert.rejects(
      createContainer(docker, missing, { Image: `hln-test/none-${run}:latest` }),
      (err: Error & { code?: string }) =>
        err.code === "E_ENGINE_PROTOCOL" &&
        err.message.startsWith(
          `unix://${socket}: POST /containers/create?name=${missing}: HTTP 404: `,
        ) &&
        !err.message.includes("\n"),
    );
    await assert.rejects(waitContainer(docker, missing), {
      code: "E_ENGINE_PROTOCOL",
      message: `unix://${socket}: POST /containers/${missing}/wait?condition=not-running: HTTP 404: No such container: ${missing}`,
    });
    await assert.rejects(collect(containerLogs(docker, missing, {})), {
      code: "E_ENGINE_PROTOCOL",
      message: `unix://${socket}: GET /containers/${missing}/logs?stdout=1&stderr=1: HTTP 404: No such container: ${missing}`,
    });
    await assert.rejects(startContainer(docker, missing), {
      code: "E_ENGINE_PROTOCOL",
      message: `unix://${socket}: POST /containers/${missing}/start: HTTP 404: No such container: ${missing}`,
    });
  });

  it("stops a running container, which a wait then sees exit", async () => {
    // sleep as PID 1 ignores SIGTERM: the stop ends in SIGKILL after the grace period.
    const id = await create(`hln-test-${run}-sleeper`, { Cmd: ["sleep", "300"] });
    await startContainer(docker, id);
    // Already running (304) is fine.
    await startContainer(docker, id);
    const exited = waitContainer(docker, id);
    await stopContainer(docker, id, { timeoutS: 1 });
    assert.equal(await settlesWithin("wait", exited), 137);
    assert.equal((await inspectContainer(docker, id))?.State.Running, false);
    await removeContainer(docker, id, { force: true, volumes: false });
  });

  it("puts a secret file into a created container, which reads it once started", async () => {
    const secret = `s3cret-${nonce()}`;
    const id = await create(`hln-test-${run}-secret`, {
      Cmd: [
        "sh",
        "-c",
        'cat /run/secrets/db-password; echo; stat -c "%u %a" /run/secrets/db-password',
      ],
    });
    await putArchive(
      docker,
      id,
      "/",
      tarFiles([
        {
          path: "run/secrets/db-password",
          data: new TextEncoder().encode(secret),
          mode: 0o400,
          uid: 1000,
          gid: 1000,
        },
      ]),
    );
    await startContainer(docker, id);
    assert.equal(await waitContainer(docker, id), 0);
    const lines = await collect(containerLogs(docker, id, {}));
    assert.deepEqual(lines, [
      { stream: "stdout", text: secret },
      { stream: "stdout", text: "1000 400" },
    ]);
    const inspected = await docker.json<unknown>("GET", `/containers/${id}/json`);
    assert.ok(!JSON.stringify(inspected).includes(secret), "the secret shows in docker inspect");
  });

  it("fails putArchive naming the path that does not exist", async () => {
    const id = await create(`hln-test-${run}-archive`, { Cmd: ["true"] });
    const tar = tarFiles([{ path: "x", data: new Uint8Array(1), mode: 0o600 }]);
    await assert.rejects(putArchive(docker, id, "/no/such/dir", tar), {
      code: "E_ENGINE_PROTOCOL",
      message: new RegExp(
        `^unix://${socket}: PUT /containers/${id}/archive\\?path=%2Fno%2Fsuch%2Fdir: HTTP 404: `,
      ),
    });
  });

  it("joins a line Docker logged in parts, each with its own timestamp", async () => {
    // Docker cuts log lines at 16 KiB and stamps every part.
    const id = await create(`hln-test-${run}-long`, {
      Cmd: ["sh", "-c", 'head -c 40000 /dev/zero | tr "\\0" x; echo; echo next'],
    });
    await startContainer(docker, id);
    assert.equal(await waitContainer(docker, id), 0);
    const lines = await collect(containerLogs(docker, id, { timestamps: true }));
    assert.deepEqual(
      lines.map((l) => l.text),
      ["x".repeat(40000), "next"],
    );
  });

  it("reads a TTY container's log as raw lines, all stdout", async () => {
    const id = await create(`hln-test-${run}-tty`, {
      Tty: true,
      Cmd: ["sh", "-c", "echo hi; echo err >&2"],
    });
    await startContainer(docker, id);
    assert.equal(await waitContainer(docker, id), 0);
    assert.deepEqual(await collect(containerLogs(docker, id, {})), [
      { stream: "stdout", text: "hi" },
      { stream: "stdout", text: "err" },
    ]);
  });

  it("stops waiting on the signal, with E_ABORTED", async () => {
    const id = await create(`hln-test-${run}-waited`, { Cmd: ["sleep", "300"] });
    await startContainer(docker, id);
    const ac = new AbortController();
    const waiting = waitContainer(docker, id, ac.signal);
    // The wait is under way once the container shows in a list; the abort must end it.
    await listContainers(docker, { labels: [label] });
    ac.abort(new Error("Ctrl-C"));
    await assert.rejects(settlesWithin("wait after the signal", waiting), {
      name: "HlnError",
      code: "E_ABORTED",
    });
    await assert.rejects(startContainer(docker, id, ac.signal), { code: "E_ABORTED" });
  });

  it("ends a followed log quietly on the signal", async () => {
    const id = await create(`hln-test-${run}-quiet`, {
      Cmd: ["sh", "-c", "echo first; exec sleep 300"],
    });
    await startContainer(docker, id);
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const l of containerLogs(docker, id, { follow: true, signal: ac.signal })) {
        seen.push(l.text);
        ac.abort();
      }
    })();
    await settlesWithin("logs -f after the signal", done);
    assert.deepEqual(seen, ["first"]);
    assert.deepEqual(await collect(containerLogs(docker, id, { signal: ac.signal })), []);
  });
});

describe("docker containers on a shared keep-alive connection", () => {
  let dials = 0;
  const unix = unixDialer(socket);
  // As over ssh: every plain request goes through one kept-alive connection.
  const dialer: Dialer = {
    endpoint: unix.endpoint,
    keepAlive: true,
    dial: (o) => {
      dials++;
      return unix.dial(o);
    },
  };
  const docker = createDockerClient(dialer);
  after(async () => {
    docker.close();
    // A client of its own: a shared connection left held by a failed test would hold this too.
    const cleaner = createDockerClient(unix);
    for (const c of await listContainers(cleaner, { labels: [`dev.hln.test=${run}-shared`] }))
      await removeContainer(cleaner, c.Id, { force: true });
    cleaner.close();
  });

  it("answers other calls while a followed log and a wait are open", async () => {
    const id = await createContainer(docker, `hln-test-${run}-shared`, {
      Image: "busybox:latest",
      Cmd: ["sh", "-c", "echo first; exec sleep 300"],
      Labels: { "dev.hln.test": `${run}-shared` },
    });
    await startContainer(docker, id);
    const ac = new AbortController();
    const logs = containerLogs(docker, id, { follow: true, signal: ac.signal })[
      Symbol.asyncIterator
    ]();
    assert.deepEqual((await logs.next()).value, { stream: "stdout", text: "first" });
    const exited = waitContainer(docker, id, ac.signal);
    const before = dials;
    // Both streams are open; these would queue behind them forever on the shared connection.
    const details = await settlesWithin("inspect beside logs -f", inspectContainer(docker, id));
    assert.equal(details?.State.Running, true);
    const listed = await settlesWithin(
      "list beside logs -f",
      listContainers(docker, { labels: [`dev.hln.test=${run}-shared`] }),
    );
    assert.deepEqual(
      listed.map((c) => c.Id),
      [id],
    );
    assert.equal(dials, before, "plain requests share one connection");
    await stopContainer(docker, id, { timeoutS: 0 });
    assert.equal(await settlesWithin("wait", exited), 137);
    assert.equal((await settlesWithin("logs end", logs.next())).done, true);
  });
});
