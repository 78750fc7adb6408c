import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { DockerClient } from "../docker/client.js";
import { DefinitionSchema } from "../gen/buildkit/ops_pb.js";
import {
  definition,
  type ExecOptions,
  exec,
  imageSource,
  localSource,
  type Platform,
} from "../llb/index.js";
import { fingerprintDirectory } from "./host-fingerprint.js";
import { analyse, Ledger } from "./ledger.js";
import { createLedgerStore, type LedgerEntry, ledgerFormat } from "./ledger-store.js";

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "hln-ledger-unit-"));
  made.push(d);
  return d;
}

const platform: Platform = { os: "linux", architecture: "amd64" };

describe("fingerprintDirectory", () => {
  const setUp = () => {
    const root = temp();
    mkdirSync(join(root, "sub"));
    writeFileSync(join(root, "a.txt"), "aaaa");
    writeFileSync(join(root, "sub", "b.txt"), "bbbb");
    writeFileSync(join(root, "skip.log"), "x");
    return root;
  };

  it("changes with a file's content even when size and mtime are put back (ctime)", async () => {
    const root = setUp();
    const before = await fingerprintDirectory(root);
    writeFileSync(join(root, "a.txt"), "aaab");
    utimesSync(join(root, "a.txt"), 1_600_000_000, 1_600_000_000);
    const first = await fingerprintDirectory(root);
    writeFileSync(join(root, "a.txt"), "aaac");
    utimesSync(join(root, "a.txt"), 1_600_000_000, 1_600_000_000);
    assert.notEqual(before.digest, first.digest);
    // Same size and mtime: only ctime (and inode metadata) differ, and that is enough.
    const second = await fingerprintDirectory(root);
    assert.notEqual(first.digest, second.digest);
  });

  it("stays the same when nothing changed, and follows the sync's filters", async () => {
    const root = setUp();
    const a = await fingerprintDirectory(root, { excludePatterns: ["*.log"] });
    assert.equal(
      (await fingerprintDirectory(root, { excludePatterns: ["*.log"] })).digest,
      a.digest,
    );
    // An excluded file is not synced, so it does not count.
    writeFileSync(join(root, "skip.log"), "changed");
    assert.equal(
      (await fingerprintDirectory(root, { excludePatterns: ["*.log"] })).digest,
      a.digest,
    );
    writeFileSync(join(root, "new.txt"), "");
    assert.notEqual(
      (await fingerprintDirectory(root, { excludePatterns: ["*.log"] })).digest,
      a.digest,
    );
  });

  it("sees a mode change and a new symlink target", async () => {
    const root = setUp();
    const a = await fingerprintDirectory(root);
    chmodSync(join(root, "a.txt"), 0o600);
    const b = await fingerprintDirectory(root);
    assert.notEqual(a.digest, b.digest);
  });

  it("names files changed within the racy window of its time", async () => {
    const root = setUp();
    utimesSync(join(root, "sub", "b.txt"), 1_600_000_000, 1_600_000_000);
    const now = BigInt(Date.now()) * 1_000_000n;
    const fresh = await fingerprintDirectory(root, { nowNs: now });
    // Every file was written just now: its ctime is fresh even when its mtime is old.
    assert.deepEqual(
      fresh.racy.sort(),
      [join(root, "a.txt"), join(root, "skip.log"), join(root, "sub", "b.txt")].sort(),
    );
    const much = await fingerprintDirectory(root, { nowNs: now + 10_000_000_000n });
    assert.deepEqual(much.racy, []);
  });
});

describe("ledger store", () => {
  const entry = (key: string): LedgerEntry => ({
    format: ledgerFormat,
    key,
    kind: "read /x",
    recordedAt: 1,
    racy: [],
    answer: "aGk=",
  });
  const key = "a".repeat(64);

  it("reads back what it wrote, in a 0700 directory as a 0600 file", async () => {
    const dir = join(temp(), "ledger");
    const store = createLedgerStore(dir);
    await store.put(entry(key));
    assert.deepEqual(await store.get(key), entry(key));
    const { statSync } = await import("node:fs");
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, key)).mode & 0o777, 0o600);
  });

  it("takes a corrupt, truncated, foreign or missing entry for a miss", async () => {
    const dir = temp();
    const store = createLedgerStore(dir);
    assert.equal(await store.get(key), undefined);
    writeFileSync(join(dir, key), "{not json");
    assert.equal(await store.get(key), undefined);
    writeFileSync(join(dir, key), JSON.stringify(entry(key)).slice(0, 30));
    assert.equal(await store.get(key), undefined);
    // An entry filed under another key, or of another format, is not this key's answer.
    writeFileSync(join(dir, key), JSON.stringify(entry("b".repeat(64))));
    assert.equal(await store.get(key), undefined);
    writeFileSync(join(dir, key), JSON.stringify({ ...entry(key), format: ledgerFormat + 1 }));
    assert.equal(await store.get(key), undefined);
    writeFileSync(join(dir, key), JSON.stringify({ ...entry(key), racy: [{ path: 1 }] }));
    assert.equal(await store.get(key), undefined);
    mkdirSync(join(dir, "c".repeat(64)));
    assert.equal(await store.get("c".repeat(64)), undefined);
  });

  it("keeps the newest entries when it prunes", async () => {
    const dir = temp();
    const store = createLedgerStore(dir);
    const keys = ["1", "2", "3", "4"].map((c) => c.repeat(64));
    for (const [i, k] of keys.entries()) {
      await store.put(entry(k));
      utimesSync(join(dir, k), 1000 + i, 1000 + i);
    }
    await store.prune(2);
    assert.equal(await store.get(keys[0]!), undefined);
    assert.equal(await store.get(keys[1]!), undefined);
    assert.ok(await store.get(keys[2]!));
    assert.ok(await store.get(keys[3]!));
  });
});

describe("Ledger", () => {
  // Only image inspects reach the Docker engine: answered here from a table.
  const docker = (ids: Record<string, string>) =>
    ({
      json: async (_m: string, path: string) => {
        const ref = decodeURIComponent(path.replace(/^\/images\/(.*)\/json$/, "$1"));
        const id = ids[ref];
        if (!id) throw Object.assign(new Error("no such image"), { status: 404 });
        return { Id: id };
      },
    }) as unknown as DockerClient;

  const graph = (root: string) => {
    const src = localSource("host-x", { uniqueId: "u", sharedKeyHint: root });
    return definition(
      exec({
        root: imageSource("busybox:latest", { platform }),
        args: ["cat", "/src/a.txt"],
        cwd: "/",
        env: [],
        platform,
        mounts: [{ dest: "/src", kind: "bind", source: src, readonly: true }],
      }).root,
    );
  };

  it("misses when a racy file's content changed though its stat did not", async () => {
    const root = temp();
    writeFileSync(join(root, "a.txt"), "aaaa");
    const now = Date.now();
    const ledger = new Ledger({
      store: createLedgerStore(join(temp(), "l")),
      docker: docker({ "docker.io/library/busybox:latest": "sha256:1" }),
      endpoint: "test",
      now: () => now,
      version: "0",
    });
    const dirs = new Map([["host-x", root]]);
    const k = await ledger.requestKey("read", ["/x"], graph(root), dirs);
    assert.ok(!("reason" in k), JSON.stringify(k));
    assert.equal(k.racy.length, 1, "a file written just now is racy");
    await ledger.record(k, { answer: "aGk=" });
    assert.ok(await ledger.lookup(k));
    // Same stat as far as the key sees (the key is recomputed the same way), other bytes.
    writeFileSync(join(root, "a.txt"), "aaab");
    assert.equal(await ledger.lookup(k), undefined);
  });

  it("keys by the image ID the Docker engine has now, and gives none for a missing image", async () => {
    const root = temp();
    writeFileSync(join(root, "a.txt"), "aaaa");
    const dirs = new Map([["host-x", root]]);
    const keyWith = async (ids: Record<string, string>) =>
      new Ledger({
        store: createLedgerStore(temp()),
        docker: docker(ids),
        endpoint: "test",
        version: "0",
      }).requestKey("read", ["/x"], graph(root), dirs);
    const one = await keyWith({ "docker.io/library/busybox:latest": "sha256:1" });
    const two = await keyWith({ "docker.io/library/busybox:latest": "sha256:2" });
    assert.ok("key" in one && "key" in two);
    assert.notEqual(one.key, two.key);
    assert.match(JSON.stringify(await keyWith({})), /not in the Docker engine/);
  });
});

describe("analyse", () => {
  const step = (extra: Partial<ExecOptions>) =>
    definition(
      exec({
        root: imageSource("busybox:latest", { platform }),
        args: ["true"],
        cwd: "/",
        env: [],
        platform,
        ...extra,
      }).root,
    );

  it("refuses a step that reads a secret, a pulled image, and a no-cache step", () => {
    const secret = step({ mounts: [{ dest: "/run/s", kind: "secret", id: "s" }] });
    assert.match(JSON.stringify(analyse(secret)), /secret/);
    const env = step({ secretEnv: [{ name: "TOKEN", id: "t" }] });
    assert.match(JSON.stringify(analyse(env)), /secret/);
    const pulled = definition(imageSource("busybox:latest", { platform, resolveMode: "pull" }));
    assert.match(JSON.stringify(analyse(pulled)), /pulled/);
    assert.deepEqual(analyse(step({})), {
      images: ["docker.io/library/busybox:latest"],
      locals: [],
    });
    const noCache = definition(imageSource("busybox:latest", { platform }), { ignoreCache: true });
    assert.match(JSON.stringify(analyse(noCache)), /no-cache/);
    assert.deepEqual(analyse(create(DefinitionSchema, {})), { images: [], locals: [] });
  });
});
