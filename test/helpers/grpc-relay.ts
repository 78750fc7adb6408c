/**
 * Test tool: exposes a Docker engine's built-in BuildKit the way `buildkitd --addr
 * tcp://...` (or `unix://...`) would, because no standalone buildkitd exists on this
 * machine. Each accepted connection is relayed to a fresh `POST /grpc` upgrade on the
 * Docker socket, so the client speaks exactly what it speaks to buildkitd: h2c or, with
 * a certificate, h2 over TLS (client certificates required when a CA is given).
 *
 * Run as a process (e.g. inside a network namespace with nsenter):
 *   node --import tsx test/helpers/grpc-relay.ts --listen tcp://10.201.0.2:1234 \
 *     --docker /var/run/hln-remote.sock [--cert c.pem --key k.pem --client-ca ca.pem]
 * It prints `listening <address>` on stdout once ready. With --exit-with-stdin, it exits
 * when its stdin ends.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

export interface RelayOptions {
  /** `tcp://HOST:PORT` or `unix:///PATH`. */
  listen: string;
  /** Path of the Docker API socket whose BuildKit is relayed. */
  dockerSocket: string;
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
}

export interface Relay {
  readonly address: string;
  close(): Promise<void>;
}

function upgradeToGrpc(dockerSocket: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const up = net.connect(dockerSocket);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      up.off("data", onData);
      // Stay paused until the caller pipes, or BuildKit's first frames fall on the floor.
      up.pause();
      const status = head.subarray(0, head.indexOf("\r\n")).toString();
      if (!/^HTTP\/1\.1 101/.test(status)) {
        up.destroy();
        reject(new Error(`docker refused /grpc: ${status}`));
        return;
      }
      const rest = head.subarray(end + 4);
      if (rest.length > 0) up.unshift(rest);
      resolve(up);
    };
    up.on("data", onData);
    up.once("error", reject);
    up.write(
      "POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n",
    );
  });
}

export function startRelay(options: RelayOptions): Promise<Relay> {
  const url = new URL(options.listen);
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket) => {
    sockets.add(client);
    client.pause();
    client.once("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    upgradeToGrpc(options.dockerSocket).then(
      (up) => {
        sockets.add(up);
        up.once("close", () => {
          sockets.delete(up);
          client.destroy();
        });
        up.on("error", () => up.destroy());
        client.once("close", () => up.destroy());
        client.pipe(up);
        up.pipe(client);
        client.resume();
      },
      () => client.destroy(),
    );
  };
  const server = options.tls
    ? tls.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ALPNProtocols: ["h2"],
          ...(options.tls.clientCa
            ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        handle,
      )
    : net.createServer(handle);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      const a = server.address();
      const address =
        url.protocol === "unix:"
          ? options.listen
          : `tcp://${url.hostname}:${typeof a === "object" && a ? a.port : url.port}`;
      resolve({
        address,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    };
    if (url.protocol === "unix:") server.listen(url.pathname, ready);
    else server.listen(Number(url.port || 0), url.hostname, ready);
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const listen = arg("listen");
  const docker = arg("docker");
  if (!listen || !docker) {
    process.stderr.write(
      "usage: grpc-relay --listen ADDR --docker SOCKET [--cert F --key F [--client-ca F]]\n",
    );
    process.exit(2);
  }
  const cert = arg("cert");
  const key = arg("key");
  const clientCa = arg("client-ca");
  const relay = await startRelay({
    listen,
    dockerSocket: docker,
    tls:
      cert && key
        ? {
            cert: readFileSync(cert),
            key: readFileSync(key),
            clientCa: clientCa ? readFileSync(clientCa) : undefined,
          }
        : undefined,
  });
  process.stdout.write(`listening ${relay.address}\n`);
  const stop = () => void relay.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // The test that started it holds our stdin: when that process dies, even by SIGKILL,
  // stdin ends and the relay goes too, instead of holding its port for the next run.
  if (process.argv.includes("--exit-with-stdin")) {
    process.stdin.on("end", stop);
    process.stdin.on("error", stop);
    process.stdin.resume();
  }
}
