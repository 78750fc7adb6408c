/**
 * SharedHttpConnection and pingStream against a real HTTP server on loopback: what goes
 * over ssh one request after another, without ssh.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { type Dialer, tcpDialer } from "./dialer.js";
import { parsePingAnswer, pingStream, SharedHttpConnection } from "./http.js";

/** A keep-alive HTTP server that counts its connections and the most requests it had at once. */
async function server(handler: http.RequestListener) {
  let active = 0;
  const stats = { connections: 0, mostAtOnce: 0 };
  const srv = http.createServer((req, res) => {
    active++;
    stats.mostAtOnce = Math.max(stats.mostAtOnce, active);
    res.once("finish", () => active--);
    handler(req, res);
  });
  srv.on("connection", () => stats.connections++);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    stats,
    close: () => {
      srv.closeAllConnections();
      srv.close();
    },
  };
}

/** A dialer that counts its dials and says connections are costly, as the ssh dialer does. */
function counting(inner: Dialer, failFirst?: Error) {
  const c = {
    dials: 0,
    dialer: {
      endpoint: inner.endpoint,
      keepAlive: true,
      dial: (o?: { signal?: AbortSignal }) => {
        c.dials++;
        if (failFirst && c.dials === 1) return Promise.reject(failFirst);
        return inner.dial(o);
      },
    } satisfies Dialer,
  };
  return c;
}

describe("SharedHttpConnection", () => {
  const servers: { close(): void }[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  it("carries every request, one after another, on one connection", async () => {
    const s = await server((req, res) => {
      // A little later, so that concurrent requests would overlap if they were not queued.
      setTimeout(() => res.end(`answer to ${req.url}`), 2);
    });
    servers.push(s);
    const c = counting(tcpDialer("127.0.0.1", s.port));
    const conn = new SharedHttpConnection(c.dialer);
    for (let i = 0; i < 12; i++) {
      const res = await conn.request({ path: `/seq/${i}` });
      assert.equal(res.body.toString(), `answer to /seq/${i}`);
    }
    const all = await Promise.all(
      Array.from({ length: 12 }, (_, i) => conn.request({ path: `/par/${i}` })),
    );
    assert.deepEqual(
      all.map((r) => r.body.toString()),
      Array.from({ length: 12 }, (_, i) => `answer to /par/${i}`),
    );
    const streamed = await conn.stream({ path: "/stream" });
    const next = conn.request({ path: "/after-stream" });
    let text = "";
    for await (const chunk of streamed) text += chunk;
    assert.equal(text, "answer to /stream");
    assert.equal((await next).body.toString(), "answer to /after-stream");
    conn.close();
    assert.equal(c.dials, 1);
    assert.equal(s.stats.connections, 1);
    assert.equal(s.stats.mostAtOnce, 1);
  });

  it("dials again once the server has closed the connection", async () => {
    const s = await server((_req, res) => {
      res.setHeader("Connection", "close");
      res.end("bye");
    });
    servers.push(s);
    const c = counting(tcpDialer("127.0.0.1", s.port));
    const conn = new SharedHttpConnection(c.dialer);
    assert.equal((await conn.request({ path: "/1" })).body.toString(), "bye");
    assert.equal((await conn.request({ path: "/2" })).body.toString(), "bye");
    conn.close();
    assert.equal(c.dials, 2);
  });

  it("fails only the request whose dial failed; the one waiting dials again", async () => {
    const s = await server((_req, res) => res.end("ok"));
    servers.push(s);
    const refused = new HlnError("E_ENGINE_UNREACHABLE", "cannot reach test: refused");
    const c = counting(tcpDialer("127.0.0.1", s.port), refused);
    const conn = new SharedHttpConnection(c.dialer);
    const [first, second] = await Promise.allSettled([
      conn.request({ path: "/1" }),
      conn.request({ path: "/2" }),
    ]);
    assert.deepEqual(first, { status: "rejected", reason: refused });
    assert.equal(second.status === "fulfilled" && second.value.body.toString(), "ok");
    conn.close();
  });

  it("lets a waiting request leave when its signal fires", async () => {
    let release: () => void = () => {};
    const s = await server((req, res) => {
      if (req.url === "/slow") release = () => res.end("slow");
      else res.end("ok");
    });
    servers.push(s);
    const conn = new SharedHttpConnection(tcpDialer("127.0.0.1", s.port));
    const slow = conn.request({ path: "/slow" });
    const ac = new AbortController();
    const waiting = conn.request({ path: "/waiting", signal: ac.signal });
    ac.abort(new Error("Ctrl-C"));
    await assert.rejects(waiting, { name: "HlnError", code: "E_ABORTED" });
    await new Promise((r) => setTimeout(r, 20));
    release();
    assert.equal((await slow).body.toString(), "slow");
    assert.equal((await conn.request({ path: "/next" })).body.toString(), "ok");
    conn.close();
  });

  it("keeps the connection when the signal of the request that dialed it fires later", async () => {
    const s = await server((_req, res) => res.end("ok"));
    servers.push(s);
    const tcp = tcpDialer("127.0.0.1", s.port);
    // As the command dialer does (ssh): a dial's signal ends the stream it gave, whenever.
    const c = counting({
      endpoint: tcp.endpoint,
      dial: async (o) => {
        const stream = await tcp.dial();
        o?.signal?.addEventListener("abort", () => stream.destroy(), { once: true });
        return stream;
      },
    });
    const conn = new SharedHttpConnection(c.dialer);
    const ac = new AbortController();
    assert.equal((await conn.request({ path: "/1", signal: ac.signal })).body.toString(), "ok");
    ac.abort(new Error("that request's caller moved on"));
    assert.equal((await conn.request({ path: "/2" })).body.toString(), "ok");
    conn.close();
    assert.equal(c.dials, 1);
  });

  it("fails requests still waiting when it is closed", async () => {
    const s = await server(() => {});
    servers.push(s);
    const conn = new SharedHttpConnection(tcpDialer("127.0.0.1", s.port));
    const hung = conn.request({ path: "/never" });
    const waiting = conn.request({ path: "/waiting" });
    await new Promise((r) => setTimeout(r, 20));
    conn.close();
    await assert.rejects(waiting, { code: "E_ABORTED" });
    await assert.rejects(hung);
  });
});

describe("pingStream", () => {
  let srv: net.Server;
  let port = 0;
  const replies = new Map<string, string>();
  before(async () => {
    // Answers the request with the reply the test set.
    srv = net.createServer((socket) =>
      socket.once("data", () => socket.write(replies.get("next") ?? "")),
    );
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    port = (srv.address() as net.AddressInfo).port;
  });
  after(() => srv.close());

  async function ping(reply: string) {
    replies.set("next", reply);
    const stream = await tcpDialer("127.0.0.1", port).dial();
    return { stream, done: pingStream(stream, "ssh://u@h") };
  }

  it("reads one answer and leaves what follows it in the stream", async () => {
    const { stream, done } = await ping(
      "HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 2\r\n\r\nOKNEXT-ANSWER",
    );
    await done;
    const rest = await new Promise<string>((r) => stream.once("data", (d) => r(d.toString())));
    assert.equal(rest, "NEXT-ANSWER");
    stream.destroy();
  });

  it("says what answered when it is not Docker", async () => {
    const { stream, done } = await ping("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    await assert.rejects(done, {
      code: "E_ENGINE_UNREACHABLE",
      message: "ssh://u@h is not a Docker engine: /_ping answered HTTP 404",
    });
    stream.destroy();
  });

  it("fails when the far end closes without an answer", async () => {
    replies.set("next", "");
    const stream = await tcpDialer("127.0.0.1", port).dial();
    const done = pingStream(stream, "ssh://u@h");
    setTimeout(() => stream.destroy(), 20);
    await assert.rejects(done, {
      code: "E_ENGINE_UNREACHABLE",
      message: "cannot reach ssh://u@h: the connection closed",
    });
  });
});

describe("pingStream on a signal", () => {
  it("stops waiting and ends the stream, which is half way through an exchange", async () => {
    const srv = net.createServer(() => {});
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const stream = await tcpDialer("127.0.0.1", (srv.address() as net.AddressInfo).port).dial();
      const ac = new AbortController();
      const done = pingStream(stream, "ssh://u@h", { signal: ac.signal });
      ac.abort(new Error("Ctrl-C"));
      await assert.rejects(done, { name: "HlnError", code: "E_ABORTED" });
      assert.ok(stream.destroyed);
    } finally {
      srv.close();
    }
  });
});

describe("parsePingAnswer", () => {
  const b = (s: string) => Buffer.from(s, "latin1");

  it("waits for the whole answer", () => {
    assert.equal(parsePingAnswer(b("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")), undefined);
    assert.equal(parsePingAnswer(b("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nO")), undefined);
  });

  it("reads a Content-Length body and a chunked one", () => {
    assert.deepEqual(parsePingAnswer(b("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOKmore")), {
      status: 200,
      rest: b("more"),
    });
    assert.deepEqual(
      parsePingAnswer(
        b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\nx"),
      ),
      { status: 200, rest: b("x") },
    );
    assert.equal(
      parsePingAnswer(b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n")),
      undefined,
    );
  });

  it("gives status 0 for an answer that is not HTTP/1.x", () => {
    assert.equal(parsePingAnswer(b("SSH-2.0-OpenSSH_9.2\r\n\r\n"))?.status, 0);
  });
});
