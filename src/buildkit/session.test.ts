import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { describe, it } from "node:test";
import type { BuildkitConnection } from "./connection.js";
import { createSecretsService } from "./secrets-service.js";
import { openSession } from "./session.js";

/** Two ends of one loopback TCP connection. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const client = net.connect(port, "127.0.0.1");
  const [other] = await Promise.all([accepted, new Promise((r) => client.once("connect", r))]);
  server.close();
  return [client, other];
}

describe("openSession", () => {
  it("answers BuildKit's calls uncompressed even when gzip is offered", async () => {
    const [ours, theirs] = await socketPair();
    const conn = { openSessionTunnel: async () => ours } as unknown as BuildkitConnection;
    const value = new Uint8Array(256 * 1024).fill(7);
    const session = await openSession(conn, {
      services: [createSecretsService({ get: async () => value })],
    });
    // Play the daemon: an HTTP/2 client on the other end of the tunnel.
    const client = http2.connect("http://session", { createConnection: () => theirs });
    try {
      // GetSecretRequest{id: "x"}: field 1, length 1, "x"; in a 5-byte gRPC envelope.
      const body = Buffer.from([0, 0, 0, 0, 3, 0x0a, 1, 0x78]);
      const req = client.request({
        ":method": "POST",
        ":path": "/moby.buildkit.secrets.v1.Secrets/GetSecret",
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-accept-encoding": "gzip",
      });
      req.end(body);
      const [headers, data] = await Promise.all([
        new Promise<http2.IncomingHttpHeaders>((r) => req.once("response", r)),
        new Promise<Buffer>((r) => {
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.once("end", () => r(Buffer.concat(chunks)));
        }),
      ]);
      assert.equal(headers["grpc-encoding"] ?? "identity", "identity");
      assert.equal(data[0], 0, "the envelope is not marked compressed");
      assert.ok(data.length > value.length, `${data.length} bytes came back`);
    } finally {
      client.close();
      await session.close();
    }
  });
});
