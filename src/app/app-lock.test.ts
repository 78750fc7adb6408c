import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../../test/helpers/temp-dir.js";
import { HlnError } from "../errors.js";
import {
  acquireLock,
  processStartTicks,
  readHolder,
  takeOver,
  takeoverMarker,
} from "./app-lock.js";

const lockModule = fileURLToPath(new URL("./app-lock.ts", import.meta.url));
const repo = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A real hln-like process that takes the lock at LOCK_PATH, says "held" (or "locked: MESSAGE"),
 * then runs `afterwards`: by default it keeps the lock until its stdin closes.
 */
function lockChild(
  path: string,
  options: { command?: string; afterwards?: string; before?: string; quiet?: boolean } = {},
): {
  child: ChildProcess;
  lines: string[];
  line: (pred: (l: string) => boolean) => Promise<string>;
  exited: Promise<number | null>;
} {
  const script = `
    const { acquireLock } = await import(process.env.LOCK_MODULE);
    ${options.before ?? ""}
    let lock;
    try {
      lock = await acquireLock(process.env.LOCK_PATH, {
        command: ${JSON.stringify(options.command ?? "hln up shop")},
        onTakeover: (m) => console.log("told: " + m),
      });
    } catch (err) {
      console.log("locked: " + err.code + " " + err.message);
      process.exit(0);
    }
    console.log("held");
    ${options.afterwards ?? `process.stdin.resume(); process.stdin.on("end", () => lock.release());`}
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: repo,
    env: { ...process.env, LOCK_MODULE: lockModule, LOCK_PATH: path },
    stdio: ["pipe", "pipe", options.quiet ? "ignore" : "inherit"],
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffer = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    buffer += chunk;
    let i = buffer.indexOf("\n");
    while (i >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf("\n");
    }
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const line = async (pred: (l: string) => boolean): Promise<string> => {
    let done = false;
    void exited.then(() => {
      done = true;
      for (const w of waiters.splice(0)) w();
    });
    for (;;) {
      const found = lines.find(pred);
      if (found !== undefined) return found;
      if (done) throw new Error(`child exited (lines: ${JSON.stringify(lines)})`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { child, lines, line, exited };
}

async function lockError(p: Promise<unknown>): Promise<HlnError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HlnError, String(err));
    return err;
  }
  assert.fail("the lock was taken");
}

/** A pid that ran and has exited (and been reaped), so nothing runs under it now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.on("exit", r));
  assert.ok(child.pid);
  return child.pid;
}

describe("acquireLock", () => {
  it("fails at once with E_LOCKED naming the pid and command of a live owner", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path);
    try {
      await c.line((l) => l === "held");
      const err = await lockError(acquireLock(path, { command: "hln up shop" }));
      assert.equal(err.code, "E_LOCKED");
      assert.match(
        err.message,
        new RegExp(
          `^app shop is locked by pid ${c.child.pid} \\(hln up shop\\) on ${hostname()} since \\d\\d:\\d\\d:\\d\\d; wait for it or stop it$`,
        ),
      );
      assert.ok(existsSync(path), "the owner's lock stays");
    } finally {
      c.child.stdin?.end();
      await c.exited;
    }
    assert.ok(!existsSync(path), "released when the owner let go");
  });

  it("takes over, with a message, the lock of an owner killed with SIGKILL", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path);
    await c.line((l) => l === "held");
    c.child.kill("SIGKILL");
    await c.exited;
    assert.ok(existsSync(path), "SIGKILL runs no handler: the file is left behind");
    const told: string[] = [];
    const lock = await acquireLock(path, {
      command: "hln up shop",
      onTakeover: (m) => told.push(m),
    });
    try {
      assert.deepEqual(told, [
        `took over the lock of app shop left by pid ${c.child.pid} (hln up shop), which is no longer running`,
      ]);
      assert.equal(JSON.parse(readFileSync(path, "utf8")).pid, process.pid);
      assert.deepEqual(readdirSync(join(path, "..")), ["shop.lock"], "no takeover marker left");
    } finally {
      lock.release();
    }
  });

  it("waits for a live owner when asked to, saying so once, and gets the lock when it exits", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path);
    await c.line((l) => l === "held");
    const waits: string[] = [];
    const lock = await acquireLock(path, {
      command: "hln up shop",
      waitMs: 120_000,
      onWait: (m) => {
        waits.push(m);
        c.child.stdin?.end();
      },
    });
    try {
      assert.equal(waits.length, 1);
      assert.match(
        waits[0] ?? "",
        new RegExp(
          `^app shop is locked by pid ${c.child.pid} \\(hln up shop\\) .*; waiting up to 120 s$`,
        ),
      );
      assert.equal(await c.exited, 0);
      assert.equal(JSON.parse(readFileSync(path, "utf8")).pid, process.pid);
    } finally {
      lock.release();
    }
  });

  it("waits without a bound when waitMs is Infinity, and says so without a number", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path);
    await c.line((l) => l === "held");
    const waits: string[] = [];
    const lock = await acquireLock(path, {
      command: "hln up shop",
      waitMs: Number.POSITIVE_INFINITY,
      onWait: (m) => {
        waits.push(m);
        c.child.stdin?.end();
      },
    });
    try {
      assert.equal(waits.length, 1);
      assert.match(
        waits[0] ?? "",
        new RegExp(
          `^app shop is locked by pid ${c.child.pid} \\(hln up shop\\) on \\S+ since [0-9:]+; waiting for it to finish$`,
        ),
      );
      assert.equal(await c.exited, 0);
    } finally {
      lock.release();
    }
  });

  it("stops waiting, with E_ABORTED, when its signal fires", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path);
    try {
      await c.line((l) => l === "held");
      const ac = new AbortController();
      const err = await lockError(
        acquireLock(path, {
          command: "hln up shop",
          waitMs: 120_000,
          signal: ac.signal,
          onWait: () => ac.abort(),
        }),
      );
      assert.equal(err.code, "E_ABORTED");
      assert.ok(existsSync(path), "the owner's lock stays");
    } finally {
      c.child.stdin?.end();
      await c.exited;
    }
  });

  it("release is idempotent, and leaves alone a lock file that is no longer ours", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const exitHandlers = process.listenerCount("exit");
    const first = await acquireLock(path, { command: "hln up shop" });
    assert.equal(process.listenerCount("exit"), exitHandlers + 1);
    assert.equal(first.owner.pid, process.pid);
    assert.equal(first.owner.command, "hln up shop");
    first.release();
    first.release();
    assert.ok(!existsSync(path));
    assert.equal(
      process.listenerCount("exit"),
      exitHandlers,
      "release unregisters its exit handler",
    );

    const second = await acquireLock(path, { command: "hln down shop" });
    const theirs = readFileSync(path, "utf8").replace(
      /"token":"[0-9a-f]+"/,
      '"token":"someone-else"',
    );
    writeFileSync(path, theirs);
    second.release();
    assert.equal(
      readFileSync(path, "utf8"),
      theirs,
      "a lock taken over from us is not ours to remove",
    );
  });

  it("is released when the owner ends with process.exit(3)", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path, { afterwards: "process.exit(3);" });
    assert.equal(await c.exited, 3);
    assert.deepEqual(c.lines, ["held"]);
    assert.ok(!existsSync(path));
  });

  it("is released when the owner throws", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path, {
      afterwards: `setTimeout(() => { throw new Error("boom"); });`,
      quiet: true,
    });
    assert.equal(await c.exited, 1);
    assert.ok(!existsSync(path));
  });

  it("is released on Ctrl-C when the process's SIGINT handler exits with 130", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const c = lockChild(path, {
      before: `process.on("SIGINT", () => process.exit(130));`,
      afterwards: "setInterval(() => {}, 1000);",
    });
    await c.line((l) => l === "held");
    assert.ok(existsSync(path));
    c.child.kill("SIGINT");
    assert.equal(await c.exited, 130);
    assert.ok(!existsSync(path));
  });

  it("takes over a lock whose pid runs but started at another time (a reused pid)", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const ticks = processStartTicks(process.pid);
    assert.ok(ticks !== undefined, "/proc/PID/stat is readable");
    writeFileSync(
      path,
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        user: "someone",
        command: "hln up shop",
        since: new Date().toISOString(),
        startTicks: ticks + 1,
        token: "old",
      }),
    );
    const told: string[] = [];
    const lock = await acquireLock(path, {
      command: "hln up shop",
      onTakeover: (m) => told.push(m),
    });
    lock.release();
    assert.deepEqual(told, [
      `took over the lock of app shop left by pid ${process.pid} (hln up shop), which is no longer running`,
    ]);
  });

  it("counts a lock on another machine as held, and says how to clear it", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const pid = await deadPid();
    const contents = JSON.stringify({
      pid,
      host: `not-${hostname()}`,
      user: "someone",
      command: "hln up shop",
      since: "2026-01-02T03:04:05.000Z",
      token: "theirs",
    });
    writeFileSync(path, contents);
    const err = await lockError(acquireLock(path, { command: "hln up shop" }));
    assert.equal(err.code, "E_LOCKED");
    assert.match(
      err.message,
      new RegExp(
        `^app shop is locked by pid ${pid} \\(hln up shop\\) on not-${hostname()} since 2026-01-0\\d \\d\\d:\\d\\d:05; that is another machine`,
      ),
    );
    assert.ok(err.message.endsWith(`remove ${path}`));
    assert.equal(readFileSync(path, "utf8"), contents);
  });

  it("counts an unreadable lock file as held while young and as left behind once old", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    writeFileSync(path, '{"pid": 12');
    const err = await lockError(acquireLock(path, { command: "hln up shop" }));
    assert.equal(err.code, "E_LOCKED");
    assert.match(
      err.message,
      /^app shop is being locked by another hln \(its lock file .* is still being written\); try again$/,
    );

    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const told: string[] = [];
    const lock = await acquireLock(path, {
      command: "hln up shop",
      onTakeover: (m) => told.push(m),
    });
    lock.release();
    assert.equal(told.length, 1);
    assert.match(
      told[0] ?? "",
      /^took over the lock of app shop, whose lock file was left unfinished \d+ s ago$/,
    );
  });

  it("lets exactly one of several processes take over the same stale lock", async () => {
    for (let round = 0; round < 2; round++) {
      const dir = tempDir("hln-lock-");
      const path = join(dir, "shop.lock");
      const go = join(dir, "go");
      writeFileSync(
        path,
        JSON.stringify({
          pid: await deadPid(),
          host: hostname(),
          user: "someone",
          command: "hln up shop",
          since: new Date().toISOString(),
          token: `stale-${round}`,
        }),
      );
      // Each child loads everything, then spins until "go" appears, so their takeovers overlap.
      const before = `
        const { existsSync } = await import("node:fs");
        console.log("ready");
        const nap = new Int32Array(new SharedArrayBuffer(4));
        while (!existsSync(${JSON.stringify(go)})) Atomics.wait(nap, 0, 0, 1);
      `;
      const children = [0, 1, 2, 3].map(() => lockChild(path, { before }));
      try {
        await Promise.all(children.map((c) => c.line((l) => l === "ready")));
        writeFileSync(go, "");
        const outcomes = await Promise.all(
          children.map((c) => c.line((l) => l === "held" || l.startsWith("locked: "))),
        );
        const winners = outcomes.filter((o) => o === "held");
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
        const winner = children[outcomes.indexOf("held")];
        for (const o of outcomes.filter((o) => o !== "held")) {
          assert.match(
            o,
            new RegExp(`^locked: E_LOCKED app shop is locked by pid ${winner?.child.pid} `),
          );
        }
        assert.equal(JSON.parse(readFileSync(path, "utf8")).pid, winner?.child.pid);
        // Only a process that got the lock says it took it over.
        for (const c of children.filter((c) => c !== winner)) {
          assert.ok(!c.lines.some((l) => l.startsWith("told: ")), JSON.stringify(c.lines));
        }
      } finally {
        for (const c of children) c.child.stdin?.end();
        await Promise.all(children.map((c) => c.exited));
      }
      assert.deepEqual(readdirSync(dir).sort(), ["go"], `round ${round}: no lock or marker left`);
    }
  });

  // The interleaving that breaks a naive takeover (read, unlink, create): a slow process read the
  // stale lock, another took over and made its own, and only then does the slow one act on what it read.
  it("never removes a lock taken after the stale one was read", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    writeFileSync(
      path,
      JSON.stringify({
        pid: await deadPid(),
        host: hostname(),
        user: "someone",
        command: "hln up shop",
        since: new Date().toISOString(),
        token: "stale",
      }),
    );
    const readBySlowOne = readHolder(path);
    assert.equal(readBySlowOne.kind, "owner");
    const lock = await acquireLock(path, { command: "hln up shop" });
    try {
      const ours = readFileSync(path, "utf8");
      assert.equal(takeOver(path, readBySlowOne), false);
      assert.equal(readFileSync(path, "utf8"), ours);
      assert.deepEqual(readdirSync(join(path, "..")), ["shop.lock"], "no takeover marker left");
    } finally {
      lock.release();
    }
  });

  it("leaves a stale lock to the process already taking it over, unless that one died doing it", async () => {
    const path = join(tempDir("hln-lock-"), "shop.lock");
    const stale = JSON.stringify({
      pid: await deadPid(),
      host: hostname(),
      user: "someone",
      command: "hln up shop",
      since: new Date().toISOString(),
      token: "stale",
    });
    writeFileSync(path, stale);
    // The other process's marker, made with O_EXCL before it reads the lock again and removes it.
    const holder = readHolder(path);
    assert.equal(holder.kind, "owner");
    if (holder.kind !== "owner") return;
    const marker = takeoverMarker(path, holder);
    assert.equal(join(marker, ".."), join(path, ".."));
    writeFileSync(marker, "");
    assert.equal(takeOver(path, readHolder(path)), false);
    assert.equal(readFileSync(path, "utf8"), stale);
    assert.ok(existsSync(marker), "a young marker is the other's, working");

    const old = new Date(Date.now() - 60_000);
    utimesSync(marker, old, old);
    assert.equal(takeOver(path, readHolder(path)), false);
    assert.ok(!existsSync(marker), "an old marker was left by a crash, and is cleared");
    const lock = await acquireLock(path, { command: "hln up shop" });
    lock.release();
  });

  it("keeps a takeover marker inside the lock's directory whatever the stale file's token says", async () => {
    const dir = tempDir("hln-lock-");
    const path = join(dir, "shop.lock");
    writeFileSync(
      path,
      JSON.stringify({
        pid: await deadPid(),
        host: hostname(),
        user: "someone",
        command: "hln up shop",
        since: new Date().toISOString(),
        token: "/../../escaped",
      }),
    );
    const lock = await acquireLock(path, { command: "hln up shop" });
    lock.release();
    assert.deepEqual(readdirSync(dir), []);
    assert.ok(!existsSync(join(dir, "..", "..", "escaped")));
  });
});
