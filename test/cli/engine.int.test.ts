import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { runCli } from "../helpers/run-cli.js";

describe("hln engine", () => {
  it("info names the engine, why it was chosen, and what it runs", async () => {
    const r = await runCli(["engine", "info"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /chosen by\s+(default socket|DOCKER_HOST)/);
    assert.match(r.stdout, /endpoint\s+unix:\/\/\/var\/run\/docker\.sock/);
    assert.match(r.stdout, /docker\s+26\.1\.5/);
    assert.match(r.stdout, /image store\s+containerd/);
    assert.match(r.stdout, /platforms\s+linux\/amd64/);
    const j = await runCli(["engine", "info", "--output", "json"]);
    assert.equal(j.code, 0, j.stderr);
    const info = JSON.parse(j.stdout);
    assert.equal(info.imageStore, "containerd");
    assert.ok(info.workers.length >= 1);
  });

  it("info fails fast with one line naming the endpoint when no engine runs there", async () => {
    const sock = "/tmp/hln-test-no-engine.sock";
    const r = await runCli(["engine", "info"], { env: { DOCKER_HOST: `unix://${sock}` } });
    assert.equal(r.code, 3);
    const [first] = r.stderr.split("\n");
    assert.equal(
      first,
      `hln: error: cannot reach unix://${sock}: no such socket (engine from DOCKER_HOST)`,
    );
    // The hint works where hln is installed: the repository's scripts are not there.
    assert.match(r.stderr, /hint: start Docker \(sudo systemctl start docker\)/);
    assert.doesNotMatch(r.stderr, /scripts\//);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace without --debug");
  });

  it("info gives up after 2 s on an endpoint that accepts but never answers", async () => {
    const server = net.createServer(() => {}).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await runCli(["engine", "info"], {
        env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` },
      });
      assert.equal(r.code, 3);
      // The bound that fired, by name: connected, then no answer to the first request.
      assert.match(
        r.stderr.split("\n")[0]!,
        new RegExp(`cannot reach tcp://127.0.0.1:${port}: no answer to GET /_ping within 2000 ms`),
      );
    } finally {
      server.close();
    }
  });

  it("du and prune report the cache", async () => {
    const du = await runCli(["engine", "du"]);
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, /^\d+ records, \S+ total, \S+ reclaimable$/m);
    const verbose = await runCli(["engine", "du", "--verbose"]);
    assert.equal(verbose.code, 0, verbose.stderr);
    // An empty cache prints no table, only the summary.
    if (!/^0 records/m.test(verbose.stdout)) {
      const [header, ...rows] = verbose.stdout.split("\n\n")[0]!.split("\n");
      assert.match(header!, /^ID {12}TYPE +SIZE +IN USE {2}LAST USED {12}DESCRIPTION$/);
      // Each column starts where its header does.
      const at = ["TYPE", "SIZE", "IN USE", "LAST USED"].map((h) => header!.indexOf(h));
      for (const row of rows) for (const i of at) assert.equal(row[i - 1], " ", row);
    }
    const prune = await runCli(["engine", "prune", "--keep-duration", "24h"]);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /^removed \d+ records, reclaimed \S+$/m);
    const bad = await runCli(["engine", "prune", "--keep-duration", "soon"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--keep-duration soon: expected a duration/);
  });
});
