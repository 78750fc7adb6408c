import assert from "node:assert/strict";
import { getEventListeners, once } from "node:events";
import type { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HlnError } from "../errors.js";
import { commandDialer } from "./command-dialer.js";
import { httpRequest } from "./http.js";

// These run real, local child processes (sh, cat): they start and end in milliseconds.

const endpoint = "ssh://root@10.0.0.2";

/**
 * Everything the stream gives until it ends. Reads with events, not `for await`, which
 * would destroy the stream itself and hide whether it closes on its own.
 */
function readAll(stream: Duplex): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return once(stream, "end").then(() => Buffer.concat(chunks));
}

/** The error the stream is destroyed with. */
async function streamError(stream: Duplex): Promise<unknown> {
  const [err] = await once(stream, "error");
  return err;
}

/** Reads up to the first newline, leaving the rest in the stream. */
async function firstLine(stream: Duplex): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const [chunk] = (await once(stream, "data")) as [Buffer];
    text += chunk.toString();
  }
  return text.slice(0, text.indexOf("\n"));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

/** Waits until `pid` is gone (killed and reaped), or fails after a while. */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!alive(pid)) return;
    await sleep(10);
  }
  assert.fail(`process ${pid} is still running`);
}

/** Blocks the event loop, so a child can exit before Node sees it. */
function blockFor(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const denied = ["sh", "-c", "echo 'Permission denied (publickey).' >&2; exit 255"];

describe("commandDialer", () => {
  it("names its endpoint", () => {
    assert.equal(commandDialer({ endpoint, argv: ["cat"] }).endpoint, endpoint);
  });

  it("carries bytes both ways through the command's stdin and stdout", async () => {
    const stream = await commandDialer({ endpoint, argv: ["cat"] }).dial();
    const closed = once(stream, "close");
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    const echoed = readAll(stream);
    stream.end(bytes);
    assert.deepEqual(await echoed, bytes);
    await closed;
  });

  it("ends and closes the stream when the command exits with 0", async () => {
    const stream = await commandDialer({ endpoint, argv: ["sh", "-c", "printf done"] }).dial();
    const closed = once(stream, "close");
    assert.equal((await readAll(stream)).toString(), "done");
    await closed;
  });

  it("kills the command when the stream is destroyed", async () => {
    const stream = await commandDialer({
      endpoint,
      argv: ["sh", "-c", "echo $$; exec cat"],
    }).dial();
    const pid = Number(await firstLine(stream));
    assert.ok(pid > 0 && alive(pid));
    stream.destroy();
    await gone(pid);
  });

  it("fails with the command's last stderr line when it exits non-zero", async () => {
    const stream = await commandDialer({ endpoint, argv: denied }).dial();
    const err = await streamError(stream);
    assert.ok(err instanceof HlnError);
    assert.equal(err.code, "E_ENGINE_UNREACHABLE");
    assert.equal(err.message, `cannot reach ${endpoint}: Permission denied (publickey).`);
  });

  it("reports the exit reason, not EPIPE, when written to after the command died", async () => {
    const stream = await commandDialer({ endpoint, argv: denied }).dial();
    blockFor(300);
    stream.write("GET /_ping HTTP/1.1\r\n\r\n");
    const err = await streamError(stream);
    assert.equal((err as HlnError).code, "E_ENGINE_UNREACHABLE");
    assert.equal(
      (err as Error).message,
      `cannot reach ${endpoint}: Permission denied (publickey).`,
    );
  });

  it("keeps only the last non-empty stderr line, or says how the command ended", async () => {
    const noisy = [
      "sh",
      "-c",
      "printf 'debug1: Connecting\\nssh: connect to host h port 22: Connection refused\\n\\n' >&2; exit 255",
    ];
    assert.equal(
      ((await streamError(await commandDialer({ endpoint, argv: noisy }).dial())) as Error).message,
      `cannot reach ${endpoint}: ssh: connect to host h port 22: Connection refused`,
    );
    const silent = ["sh", "-c", "exit 3"];
    assert.equal(
      ((await streamError(await commandDialer({ endpoint, argv: silent }).dial())) as Error)
        .message,
      `cannot reach ${endpoint}: sh exited with 3`,
    );
  });

  it("lets explain() turn stderr into the reason", async () => {
    const dialer = commandDialer({
      endpoint,
      argv: denied,
      explain: (stderr, code) => `ssh said ${JSON.stringify(stderr.trim())} (${code})`,
    });
    assert.equal(
      ((await streamError(await dialer.dial())) as Error).message,
      `cannot reach ${endpoint}: ssh said "Permission denied (publickey)." (255)`,
    );
  });

  it("says a missing binary is not installed", async () => {
    const dialer = commandDialer({ endpoint, argv: ["hln-no-such-binary", "-T"] });
    await assert.rejects(dialer.dial(), {
      name: "HlnError",
      code: "E_ENGINE_UNREACHABLE",
      message: `cannot reach ${endpoint}: hln-no-such-binary is not installed (not on PATH)`,
    });
  });

  it("refuses to start on an aborted signal", async () => {
    const ac = new AbortController();
    ac.abort(new Error("Ctrl-C"));
    await assert.rejects(commandDialer({ endpoint, argv: ["cat"] }).dial({ signal: ac.signal }), {
      name: "HlnError",
      code: "E_ABORTED",
    });
  });

  it("ends the command when the signal fires later, and leaves no listener behind", async () => {
    const ac = new AbortController();
    const dialer = commandDialer({ endpoint, argv: ["sh", "-c", "echo $$; exec cat"] });
    // More dials on one signal than Node's listener-leak warning allows (10).
    for (let i = 0; i < 12; i++) {
      const stream = await dialer.dial({ signal: ac.signal });
      await firstLine(stream);
      stream.destroy();
      await once(stream, "close");
    }
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);

    const stream = await dialer.dial({ signal: ac.signal });
    const pid = Number(await firstLine(stream));
    ac.abort();
    await gone(pid);
    assert.ok(stream.destroyed);
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  });

  it("carries Node's HTTP client", async () => {
    const dialer = commandDialer({
      endpoint,
      argv: [
        "sh",
        "-c",
        "printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok'; cat >/dev/null",
      ],
    });
    const res = await httpRequest(dialer, { path: "/_ping", timeoutMs: 5000 });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), "ok");
  });

  it("fails an HTTP request with the command's reason", async () => {
    await assert.rejects(
      httpRequest(commandDialer({ endpoint, argv: denied }), { path: "/_ping" }),
      {
        code: "E_ENGINE_UNREACHABLE",
        message: `cannot reach ${endpoint}: Permission denied (publickey).`,
      },
    );
  });
});
