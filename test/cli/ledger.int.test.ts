/**
 * The ledger on the real engine: a rerun with nothing changed is answered without BuildKit
 * (the Docker API is reached through a recording proxy, which sees no `/grpc` or `/session`
 * upgrade), and each kind of change runs on the engine again and gives the new answer.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

/** A unix socket in front of the Docker engine that keeps the request lines it forwards. */
function recordingProxy(path: string): { server: Server; requests(): string[]; reset(): void } {
  let seen: string[] = [];
  const server = createServer((client) => {
    const upstream = connect("/var/run/docker.sock");
    const head: string[] = [];
    seen.push("");
    const slot = seen.length - 1;
    const mine = seen;
    client.on("data", (d: Buffer) => {
      // Only HTTP/1 request lines matter; after an upgrade the bytes are HTTP/2 frames.
      if (head.join("").length < 1 << 20) head.push(d.toString("latin1"));
      mine[slot] = head.join("");
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  server.listen(path);
  return {
    server,
    requests: () =>
      seen.flatMap((text) =>
        [...text.matchAll(/(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.1/g)].map(
          (m) => `${m[1]} ${m[2]}`,
        ),
      ),
    reset: () => {
      seen = [];
    },
  };
}

const touchesBuildkit = (requests: string[]) =>
  requests.filter((r) => /\/(grpc|session)(\?|$)/.test(r));

function ledgerEvent(stderr: string): { results: number } | undefined {
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as { type: string; results: number };
    if (e.type === "ledger") return e;
  }
  return undefined;
}

describe("the ledger", { concurrency: false }, () => {
  const dir = tempDir("hln-ledger-stack-");
  const cache = tempDir("hln-ledger-xdg-");
  const socket = join(tempDir("hln-ledger-sock-"), "docker.sock");
  const tag = `hln-ledger-test-${nonce()}:v1`;
  const src = join(dir, "src");
  const exported = join(dir, "exported");
  let proxy: ReturnType<typeof recordingProxy>;
  let first = "";

  const stack = (extra: string) => `import { defineStack } from "hln";
export default defineStack({
  name: "ledger-test", version: "0.1.0",
  inputs: { word: { type: "string", default: "one" } },
  actions: {
    async up({ dag, inputs }) {
      const c = dag.container().from("${tag}")
        .withDirectory("/src", dag.host().directory("./src"))
        .withExec(["sh", "-c", \`cat /src/* > /out.txt; echo \${inputs.word} >> /out.txt; [ -e /etc/debian_version ] && echo debian >> /out.txt || echo busybox >> /out.txt${extra}\`]);
      const text = await c.file("/out.txt").contents();
      await c.directory("/src").export("./exported");
      return { text: text.trim().split("\\n") };
    },
  },
});
`;

  const run = async (...flags: string[]) => {
    proxy.reset();
    const r = await runCli(
      ["--log-format", "json", "do", "up", "--dir", dir, "--output", "json", ...flags],
      {
        cwd: dir,
        env: { XDG_CACHE_HOME: cache, DOCKER_HOST: `unix://${socket}`, HLN_NO_LEDGER: "" },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    return {
      text: (JSON.parse(r.stdout) as { text: string[] }).text,
      ledger: ledgerEvent(r.stderr),
      buildkit: touchesBuildkit(proxy.requests()),
    };
  };

  /** The run went to the engine: BuildKit was reached, and nothing came from the ledger. */
  const onEngine = (r: Awaited<ReturnType<typeof run>>) => {
    assert.ok(r.buildkit.length > 0, "BuildKit was reached");
    assert.equal(r.ledger, undefined, "no result came from the ledger");
  };

  before(() => {
    execFileSync("docker", ["tag", "busybox:latest", tag]);
    proxy = recordingProxy(socket);
    writeFileSync(join(dir, "stack.ts"), stack(""));
    mkdirSync(src);
    writeFileSync(join(src, "a.txt"), "aaaa\n");
    writeFileSync(join(src, "b.txt"), "bbbb\n");
    // Whole seconds, so a test can put an mtime back exactly (utimes takes float seconds).
    for (const f of ["a.txt", "b.txt"]) utimesSync(join(src, f), 1_600_000_000, 1_600_000_000);
  });

  after(() => {
    proxy?.server.close();
    execFileSync("docker", ["rmi", tag]);
  });

  it("runs the first time on the engine, and answers an unchanged rerun without BuildKit", async () => {
    const r1 = await run();
    onEngine(r1);
    assert.deepEqual(r1.text, ["aaaa", "bbbb", "one", "busybox"]);
    assert.deepEqual(readdirSync(exported).sort(), ["a.txt", "b.txt"]);
    first = JSON.stringify(r1.text);

    const r2 = await run();
    assert.deepEqual(r2.buildkit, [], "no BuildKit request on an unchanged rerun");
    assert.equal(r2.ledger?.results, 2, "the file read and the export");
    assert.equal(JSON.stringify(r2.text), first);
    // Unrelated to the engine, but what a no-op must also not do: the image was inspected.
    assert.ok(proxy.requests().some((q) => q.includes(`/images/`)));
  });

  it("runs a changed stack file on the engine", async () => {
    writeFileSync(join(dir, "stack.ts"), stack("; echo edited >> /out.txt"));
    const r = await run();
    onEngine(r);
    assert.deepEqual(r.text, ["aaaa", "bbbb", "one", "busybox", "edited"]);
    writeFileSync(join(dir, "stack.ts"), stack(""));
  });

  it("runs a changed input on the engine", async () => {
    const r = await run("--set", "word=two");
    onEngine(r);
    assert.deepEqual(r.text, ["aaaa", "bbbb", "two", "busybox"]);
  });

  it("runs on the engine when the tag points at another image, and answers right when it points back", async () => {
    execFileSync("docker", ["tag", "debian:bookworm-slim", tag]);
    try {
      const r = await run();
      onEngine(r);
      assert.deepEqual(r.text, ["aaaa", "bbbb", "one", "debian"]);
    } finally {
      execFileSync("docker", ["tag", "busybox:latest", tag]);
    }
    const back = await run();
    assert.deepEqual(back.text, ["aaaa", "bbbb", "one", "busybox"]);
  });

  it("runs on the engine when one byte of a synced file changes, size and mtime kept", async () => {
    const file = join(src, "a.txt");
    const before = statSync(file, { bigint: true });
    assert.equal(before.mtimeNs, 1_600_000_000_000_000_000n);
    writeFileSync(file, "aaab\n");
    utimesSync(file, 1_600_000_000, 1_600_000_000);
    const after = statSync(file, { bigint: true });
    assert.equal(after.size, before.size);
    assert.equal(after.mtimeNs, before.mtimeNs);
    assert.equal(after.ino, before.ino);
    const r = await run();
    // Only the ctime tells: the ledger must send the request to the engine. What the engine
    // then answers is BuildKit's: its incremental sync compares size and mtime only (fsutil's
    // receiver), so it keeps the copy it had, as with docker buildx.
    onEngine(r);
    // A new mtime makes BuildKit take the new bytes; the ledger answers that change too.
    utimesSync(file, 1_600_000_100, 1_600_000_100);
    const seen = await run();
    onEngine(seen);
    assert.deepEqual(seen.text, ["aaab", "bbbb", "one", "busybox"]);
  });

  it("runs on the engine when a file is added to the synced directory", async () => {
    writeFileSync(join(src, "c.txt"), "cccc\n");
    const r = await run();
    onEngine(r);
    assert.deepEqual(r.text, ["aaab", "bbbb", "cccc", "one", "busybox"]);
  });

  it("exports again when the exported directory was deleted", async () => {
    const unchanged = await run();
    assert.equal(unchanged.ledger?.results, 2);
    rmSync(exported, { recursive: true });
    const r = await run();
    assert.ok(r.buildkit.length > 0, "the export ran on the engine");
    assert.equal(r.ledger?.results, 1, "only the file read came from the ledger");
    assert.deepEqual(readdirSync(exported).sort(), ["a.txt", "b.txt", "c.txt"]);
    assert.equal(readFileSync(join(exported, "a.txt"), "utf8"), "aaab\n");
    // A file the user changed in the export is put back, too.
    appendFileSync(join(exported, "b.txt"), "mine\n");
    const again = await run();
    assert.ok(again.buildkit.length > 0);
    assert.equal(readFileSync(join(exported, "b.txt"), "utf8"), "bbbb\n");
  });

  it("runs everything on the engine with --no-ledger", async () => {
    const r = await run("--no-ledger");
    onEngine(r);
    assert.deepEqual(r.text, ["aaab", "bbbb", "cccc", "one", "busybox"]);
    assert.ok(existsSync(exported));
  });
});
