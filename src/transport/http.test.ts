import assert from "node:assert/strict";
import net from "node:net";
import type { Duplex } from "node:stream";
import { after, describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { tcpDialer } from "./dialer.js";
import { httpRequest, httpUpgrade } from "./http.js";

/** A tiny HTTP/1.1 peer on loopback that answers with fixed bytes in one write. */
function peer(reply: string): Promise<{ port: number; close(): void; seen: Promise<string> }> {
  return new Promise((resolve) => {
    let onSeen: (s: string) => void;
    const seen = new Promise<string>((r) => {
      onSeen = r;
    });
    const server = net.createServer((socket) => {
      socket.once("data", (d) => {
        onSeen(d.toString("latin1"));
        socket.write(reply);
      });
    });
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => server.close(),
        seen,
      });
    });
  });
}

function firstBytes(stream: Duplex): Promise<string> {
  return new Promise((resolve) => stream.once("data", (d: Buffer) => resolve(d.toString())));
}

describe("httpUpgrade", () => {
  const servers: { close(): void }[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  it("keeps the bytes that arrive in the same read as the 101", async () => {
    const p = await peer(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nPEER-SPEAKS-FIRST",
    );
    servers.push(p);
    const stream = await httpUpgrade(tcpDialer("127.0.0.1", p.port), {
      path: "/session",
      protocol: "h2c",
      headers: { "X-Docker-Expose-Session-Grpc-Method": ["/a/B", "/c/D"] },
    });
    assert.equal(await firstBytes(stream), "PEER-SPEAKS-FIRST");
    const request = await p.seen;
    assert.match(request, /^POST \/session HTTP\/1\.1\r\n/);
    assert.match(request, /\r\nUpgrade: h2c\r\n/i);
    // Multi-valued headers go out as repeated lines, as BuildKit reads them.
    assert.match(
      request,
      /X-Docker-Expose-Session-Grpc-Method: \/a\/B\r\nX-Docker-Expose-Session-Grpc-Method: \/c\/D\r\n/,
    );
    stream.destroy();
  });

  it("fails with the daemon's answer when it refuses to upgrade", async () => {
    const p = await peer(
      "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno route!",
    );
    servers.push(p);
    await assert.rejects(
      httpUpgrade(tcpDialer("127.0.0.1", p.port), { path: "/grpc", protocol: "h2c" }),
      (err: unknown) =>
        err instanceof HlnError &&
        err.code === "E_ENGINE_PROTOCOL" &&
        err.message ===
          `tcp://127.0.0.1:${p.port} refused to upgrade /grpc to h2c: HTTP 404 no route!`,
    );
  });
});

describe("httpRequest", () => {
  it("names the endpoint when nothing listens", async () => {
    const server = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as net.AddressInfo).port;
    server.close();
    await new Promise((r) => server.once("close", r));
    await assert.rejects(httpRequest(tcpDialer("127.0.0.1", port), { path: "/_ping" }), {
      code: "E_ENGINE_UNREACHABLE",
      message: `cannot reach tcp://127.0.0.1:${port}: connection refused`,
    });
  });
});
