import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/temp-dir.js";
import { HlnError } from "../errors.js";
import {
  type AppState,
  appStateDirectory,
  type DeployRecord,
  fileStateStore,
} from "./state-store.js";

const engineId = "2f1c0d3e-7a44-4b1e-9d0e-6c5b4a3f2e1d";

function record(i: number): DeployRecord {
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    action: "up",
    result: "ok",
    stackVersion: "1.0.0",
    changes: [`recreate api (deploy ${i})`],
    by: { user: "dev", host: "box", pid: 100 + i },
  };
}

function state(app: string, history: DeployRecord[] = [record(0)]): AppState {
  return {
    app,
    engine: { id: engineId, endpoint: "unix:///var/run/docker.sock" },
    stack: { ref: "web-api-db", name: "web-api-db", version: "1.0.0" },
    inputs: { replicas: 2, domain: "shop.local" },
    secretSources: { dbPassword: "env:SHOP_DB_PASSWORD" },
    outputs: { url: "http://127.0.0.1:8080" },
    services: {
      api: { kind: "service", image: "hln/shop/api:0123456789ab", configHash: "ab12" },
      migrate: { kind: "job", image: "hln/shop/migrate:0123456789ab", configHash: "cd34" },
    },
    history,
  };
}

async function usageError(p: Promise<unknown>): Promise<HlnError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HlnError, String(err));
    return err;
  }
  assert.fail("it did not fail");
}

describe("fileStateStore", () => {
  it("keeps each app in $XDG_STATE_HOME/hln/apps/ENGINE-ID/APP.json, directory 0700 and file 0600", async () => {
    const home = tempDir("hln-state-");
    const store = fileStateStore({ env: { XDG_STATE_HOME: home }, engineId });
    const dir = join(home, "hln", "apps", engineId);
    assert.equal(store.location, dir);
    assert.deepEqual(await store.list(), [], "no directory yet is no apps");
    assert.equal(await store.read("shop"), undefined);

    await store.write(state("shop"));
    await store.write(state("blog"));
    assert.deepEqual(await store.read("shop"), state("shop"));
    assert.deepEqual(await store.list(), ["blog", "shop"]);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, "shop.json")).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ["blog.json", "shop.json"], "no temporary file left");

    await store.remove("blog");
    await store.remove("blog");
    assert.deepEqual(await store.list(), ["shop"]);
  });

  it("falls back to ~/.local/state when XDG_STATE_HOME is unset or relative", () => {
    assert.equal(appStateDirectory({ HOME: "/home/u" }, "ID"), "/home/u/.local/state/hln/apps/ID");
    assert.equal(
      appStateDirectory({ HOME: "/home/u", XDG_STATE_HOME: "rel" }, "ID"),
      "/home/u/.local/state/hln/apps/ID",
    );
    assert.equal(
      appStateDirectory({ HOME: "/h", XDG_STATE_HOME: "/s" }, "AB:CD"),
      "/s/hln/apps/AB:CD",
    );
    assert.equal(
      appStateDirectory({ HOME: "/h" }, "../x"),
      "/h/.local/state/hln/apps/.._x",
      "an ID never names another directory",
    );
    assert.equal(appStateDirectory({ HOME: "/h" }, ".."), "/h/.local/state/hln/apps/_");
  });

  it("keeps the newest 50 deploys", async () => {
    const store = fileStateStore({ env: { XDG_STATE_HOME: tempDir("hln-state-") }, engineId });
    const history = Array.from({ length: 60 }, (_, i) => record(i));
    const s = state("shop", history);
    await store.write(s);
    const back = await store.read("shop");
    assert.equal(back?.history.length, 50);
    assert.deepEqual(back?.history, history.slice(10));
    assert.equal(s.history.length, 60, "the caller's state is not changed");
  });

  it("reads the last whole state when a write crashed and left its temporary file", async () => {
    const home = tempDir("hln-state-");
    const store = fileStateStore({ env: { XDG_STATE_HOME: home }, engineId });
    await store.write(state("shop"));
    const dir = store.location;
    // What replaceFile leaves when the process dies before its rename.
    writeFileSync(join(dir, "shop.json.hln-0123456789ab.tmp"), '{"app": "shop", "engi');
    assert.deepEqual(await store.read("shop"), state("shop"));
    assert.deepEqual(await store.list(), ["shop"]);
    await store.write(state("shop", [record(0), record(1)]));
    assert.equal((await store.read("shop"))?.history.length, 2);
  });

  for (const [name, contents, message] of [
    [
      "not JSON",
      '{"app": "shop",\n  "engine": x\n}',
      /^state file \S+shop\.json is not valid JSON: Unexpected token 'x'$/,
    ],
    ["empty", "", /^state file \S+shop\.json is not valid JSON: Unexpected end of JSON input$/],
    [
      "a list",
      "[]",
      /^state file \S+shop\.json is not an app's state: "\(top\)" must be an object$/,
    ],
    [
      "a bad field",
      JSON.stringify({ ...state("shop"), history: [{ ...record(0), action: "sideways" }] }),
      /^state file \S+shop\.json is not an app's state: "history\[0\]\.action" must be "up", "down" or "rollback"$/,
    ],
    [
      "another app's",
      JSON.stringify(state("blog")),
      /^state file \S+shop\.json names app "blog", not "shop"$/,
    ],
  ] as const) {
    it(`says in one line what is wrong with a state file that is ${name}, and leaves it as it is`, async () => {
      const store = fileStateStore({ env: { XDG_STATE_HOME: tempDir("hln-state-") }, engineId });
      mkdirSync(store.location, { recursive: true });
      const file = join(store.location, "shop.json");
      writeFileSync(file, contents);
      const err = await usageError(store.read("shop"));
      assert.equal(err.code, "E_USAGE");
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`state file ${file} `));
      assert.equal(readFileSync(file, "utf8"), contents);
      assert.deepEqual(await store.list(), ["shop"]);
    });
  }

  it("refuses an app name that is not a file name", async () => {
    const home = tempDir("hln-state-");
    const store = fileStateStore({ env: { XDG_STATE_HOME: home }, engineId });
    for (const app of ["../x", "", ".hidden", "a/b"]) {
      const err = await usageError(store.write(state(app)));
      assert.equal(err.code, "E_USAGE");
      assert.match(err.message, /^app name ".*" is not valid: /);
    }
    assert.ok(!existsSync(join(home, "hln")), "nothing written");
  });

  it("says which directory it cannot make", async () => {
    const home = tempDir("hln-state-");
    writeFileSync(join(home, "hln"), "a file where the directory should be");
    const store = fileStateStore({ env: { XDG_STATE_HOME: home }, engineId });
    const err = await usageError(store.write(state("shop")));
    assert.equal(err.code, "E_USAGE");
    assert.equal(
      err.message,
      `cannot make hln's state directory ${store.location}: a part of the path is not a directory (XDG_STATE_HOME chooses where it is)`,
    );
  });

  it("honours a fired signal", async () => {
    const store = fileStateStore({ env: { XDG_STATE_HOME: tempDir("hln-state-") }, engineId });
    const ac = new AbortController();
    ac.abort();
    assert.equal((await usageError(store.write(state("shop"), ac.signal))).code, "E_ABORTED");
    assert.equal((await usageError(store.read("shop", ac.signal))).code, "E_ABORTED");
    assert.deepEqual(await store.list(), []);
  });

  it("locks an app with APP.lock beside its state, one holder at a time", async () => {
    const store = fileStateStore({ env: { XDG_STATE_HOME: tempDir("hln-state-") }, engineId });
    const lock = await store.lock("shop", { command: "hln up shop" });
    try {
      assert.ok(existsSync(join(store.location, "shop.lock")));
      const err = await usageError(store.lock("shop", { command: "hln down shop" }));
      assert.equal(err.code, "E_LOCKED");
      assert.match(
        err.message,
        new RegExp(`^app shop is locked by pid ${process.pid} \\(hln up shop\\) `),
      );
      const other = await store.lock("blog", { command: "hln up blog" });
      other.release();
    } finally {
      lock.release();
    }
    assert.deepEqual(readdirSync(store.location), []);
    assert.deepEqual(await store.list(), [], "a lock is not an app");
  });
});
