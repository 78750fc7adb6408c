/**
 * The remote-engine matrix: the example stack must give the same result on every way of
 * reaching a BuildKit, and every unreachable or misconfigured engine must fail at once
 * with a message naming the endpoint and the cause.
 *
 * The second host is a network namespace with its own Docker and sshd
 * (scripts/remote-host-up.sh); Docker 20.10 runs on its own socket
 * (scripts/engine-compat-up.sh). tcp:// and unix:// reach the second host's BuildKit
 * through test/helpers/grpc-relay.ts, which speaks what `buildkitd --addr` would.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import { type Relay, startRelay } from "../helpers/grpc-relay.js";
import { processes, until } from "../helpers/processes.js";
import {
  compatSock,
  netns,
  relayInNamespace,
  remoteAddr,
  remoteSock,
  requireTestEngines,
  sshPath,
  waitForPort,
} from "../helpers/remote-host.js";
import { runCli } from "../helpers/run-cli.js";
import { makeTestCerts, type TestCerts } from "../helpers/tls-certs.js";

interface Info {
  choice: { kind: string; source: string };
  endpoint: string;
  workers: { id: string }[];
}

describe("remote engines", () => {
  const children: ChildProcess[] = [];
  let unixRelay: Relay;
  let droppable: Relay | undefined;
  let certs: TestCerts;
  let tunnelPort: number;
  const dir = mkdtempSync(join(tmpdir(), "hln-matrix-"));
  const unixSock = join(dir, "buildkitd.sock");
  // A Docker CLI config with a context for the second host, as `docker context create` writes it.
  const dockerConfig = join(dir, "docker-config");
  const contextMeta = join(
    dockerConfig,
    "contexts",
    "meta",
    createHash("sha256").update("second-host").digest("hex"),
  );
  mkdirSync(contextMeta, { recursive: true });
  writeFileSync(
    join(contextMeta, "meta.json"),
    JSON.stringify({
      Name: "second-host",
      Endpoints: { docker: { Host: `ssh://root@${remoteAddr}` } },
    }),
  );

  before(async () => {
    requireTestEngines();
    certs = makeTestCerts({ ips: [remoteAddr], dns: ["buildkit.test"] });
    children.push(
      await relayInNamespace(["--listen", `tcp://${remoteAddr}:1234`, "--docker", remoteSock]),
    );
    children.push(
      await relayInNamespace([
        "--listen",
        `tcp://${remoteAddr}:1443`,
        "--docker",
        remoteSock,
        "--cert",
        certs.serverCert,
        "--key",
        certs.serverKey,
        "--client-ca",
        certs.ca,
      ]),
    );
    unixRelay = await startRelay({ listen: `unix://${unixSock}`, dockerSocket: remoteSock });
    // The documented setup: buildkitd listens on the remote host, ssh forwards a local port.
    tunnelPort = await freePort();
    const tunnel = spawn(
      "ssh",
      [
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        `127.0.0.1:${tunnelPort}:${remoteAddr}:1234`,
        `root@${remoteAddr}`,
      ],
      { env: { ...process.env, PATH: sshPath }, stdio: "ignore" },
    );
    children.push(tunnel);
    await waitForPort(tunnelPort);
  });

  after(async () => {
    for (const c of children) c.kill();
    await unixRelay?.close();
    await droppable?.close();
    rmSync(dir, { recursive: true, force: true });
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  const cases = (): {
    name: string;
    env: NodeJS.ProcessEnv;
    args?: string[];
    remote: boolean;
  }[] => [
    { name: "local Docker (default socket)", env: {}, remote: false },
    { name: "tcp:// plain h2c", env: { BUILDKIT_HOST: `tcp://${remoteAddr}:1234` }, remote: true },
    {
      name: "tcp:// TLS with a client certificate (--tlsdir)",
      env: {},
      args: ["--engine", `tcp://${remoteAddr}:1443`, "--tlsdir", certs.dir],
      remote: true,
    },
    {
      name: "tcp:// TLS, files and server name from BUILDKIT_TLS_*",
      env: {
        BUILDKIT_HOST: `tcp://${remoteAddr}:1443`,
        BUILDKIT_TLS_CA: certs.ca,
        BUILDKIT_TLS_CERT: certs.clientCert,
        BUILDKIT_TLS_KEY: certs.clientKey,
        BUILDKIT_TLS_SERVERNAME: "buildkit.test",
      },
      remote: true,
    },
    {
      name: "tcp:// through an ssh tunnel",
      env: { BUILDKIT_HOST: `tcp://127.0.0.1:${tunnelPort}` },
      remote: true,
    },
    { name: "unix://", env: { BUILDKIT_HOST: `unix://${unixSock}` }, remote: true },
    {
      name: "DOCKER_HOST=ssh://",
      env: { DOCKER_HOST: `ssh://root@${remoteAddr}`, PATH: sshPath },
      remote: true,
    },
    {
      name: "docker-container:// on DOCKER_HOST=ssh://",
      env: {
        DOCKER_HOST: `ssh://root@${remoteAddr}`,
        BUILDKIT_HOST: "docker-container://hln-buildkitd",
        PATH: sshPath,
      },
      remote: true,
    },
    {
      name: "docker-container://NAME?context= (a Docker context over ssh)",
      env: {
        DOCKER_CONFIG: dockerConfig,
        BUILDKIT_HOST: "docker-container://hln-buildkitd?context=second-host",
        PATH: sshPath,
      },
      remote: true,
    },
    {
      name: "Docker 20.10 (BuildKit 0.8)",
      env: { DOCKER_HOST: `unix://${compatSock}` },
      remote: true,
    },
  ];

  it("runs the example stack with the same result on every engine", async () => {
    let baseline: unknown;
    let localWorker = "";
    const table: string[] = [];
    for (const c of cases()) {
      const env = { HLN_LOG_FORMAT: "quiet", ...c.env };
      const info = await runCli([...(c.args ?? []), "engine", "info", "-o", "json"], { env });
      assert.equal(info.code, 0, `${c.name}: engine info: ${info.stderr}`);
      const i = JSON.parse(info.stdout) as Info;
      const worker = i.workers[0]?.id ?? "";
      if (!c.remote) localWorker = worker;
      // The build must really run elsewhere, not fall back to the local engine.
      else assert.notEqual(worker, localWorker, `${c.name}: ran on the local engine's worker`);

      const run = await runCli(
        [...(c.args ?? []), "do", "up", "--plan", "stacks/hello", "-o", "json"],
        {
          env,
        },
      );
      assert.equal(run.code, 0, `${c.name}: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as unknown;
      if (baseline === undefined) baseline = result;
      else assert.deepEqual(result, baseline, `${c.name}: result differs from the local engine's`);
      table.push(
        `${c.name.padEnd(48)} ${i.choice.kind.padEnd(8)} ${i.endpoint}  ${Math.round(run.ms)} ms`,
      );
    }
    process.stdout.write(`# matrix\n${table.map((l) => `#   ${l}`).join("\n")}\n`);
  });

  it("fails fast, naming the endpoint and the cause, on every bad engine", async () => {
    // Accepts connections and never says a word.
    const held = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      held.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const bad: { name: string; env: NodeJS.ProcessEnv; args?: string[]; expect: RegExp }[] = [
      {
        name: "tcp refused",
        env: { BUILDKIT_HOST: `tcp://${remoteAddr}:1299` },
        expect:
          /cannot reach tcp:\/\/10\.201\.0\.2:1299: connection refused \(engine from BUILDKIT_HOST\)/,
      },
      {
        name: "DNS",
        env: { BUILDKIT_HOST: "tcp://no-such-host.invalid:1234" },
        expect:
          /cannot reach tcp:\/\/no-such-host\.invalid:1234: (no such host|name lookup failed)/,
      },
      {
        name: "TLS: untrusted server",
        env: {
          BUILDKIT_HOST: `tcp://${remoteAddr}:1443`,
          BUILDKIT_TLS_CA: "/etc/ssl/certs/ca-certificates.crt",
        },
        expect:
          /tcp:\/\/10\.201\.0\.2:1443 \(TLS\): TLS: the server's certificate is not signed by a trusted CA/,
      },
      {
        name: "TLS: no client certificate",
        env: { BUILDKIT_HOST: `tcp://${remoteAddr}:1443`, BUILDKIT_TLS_CA: certs.ca },
        expect: /TLS: the server requires a client certificate/,
      },
      {
        name: "TLS: wrong server name",
        env: {
          BUILDKIT_HOST: `tcp://${remoteAddr}:1443`,
          BUILDKIT_TLS_DIR: certs.dir,
          BUILDKIT_TLS_SERVERNAME: "other.test",
        },
        expect: /Host: other\.test\. is not in the cert's altnames/,
      },
      {
        name: "TLS to a plain server",
        env: { BUILDKIT_HOST: `tcp://${remoteAddr}:1234`, BUILDKIT_TLS_DIR: certs.dir },
        expect: /the server does not speak TLS/,
      },
      {
        name: "TLS file missing",
        env: { BUILDKIT_HOST: `tcp://${remoteAddr}:1443`, BUILDKIT_TLS_CA: "/nonexistent/ca.pem" },
        expect: /BUILDKIT_TLS_CA=\/nonexistent\/ca\.pem: cannot read \(no such file\)/,
      },
      {
        name: "ssh auth",
        env: { DOCKER_HOST: `ssh://nobody@${remoteAddr}`, PATH: sshPath },
        expect: /cannot reach ssh:\/\/nobody@10\.201\.0\.2: .*Permission denied \(publickey\)/,
      },
      {
        name: "ssh unknown host",
        env: { DOCKER_HOST: "ssh://root@no-such-host.invalid", PATH: sshPath },
        expect: /ssh:\/\/root@no-such-host\.invalid: ssh: Could not resolve hostname/,
      },
      {
        name: "no such container",
        env: {
          DOCKER_HOST: `ssh://root@${remoteAddr}`,
          BUILDKIT_HOST: "docker-container://nope",
          PATH: sshPath,
        },
        expect:
          /docker-container:\/\/nope \(on ssh:\/\/root@10\.201\.0\.2\): no such container "nope"/,
      },
      {
        name: "unix: no socket",
        env: { BUILDKIT_HOST: `unix://${dir}/none.sock` },
        expect: /cannot reach unix:\/\/.*none\.sock: no such socket/,
      },
      {
        name: "bad scheme",
        env: { BUILDKIT_HOST: "kube-pod://buildkitd" },
        expect: /BUILDKIT_HOST=kube-pod:\/\/buildkitd: scheme kube-pod:\/\/ is not supported/,
      },
      {
        name: "unroutable host",
        env: { BUILDKIT_HOST: "tcp://10.201.0.9:1234" },
        expect: /cannot reach tcp:\/\/10\.201\.0\.9:1234: (timed out|host unreachable)/,
      },
      {
        name: "listener that never answers",
        env: { BUILDKIT_HOST: `tcp://127.0.0.1:${silentPort}` },
        expect:
          /cannot reach tcp:\/\/127\.0\.0\.1:\d+: connected, but BuildKit did not answer within 2 s/,
      },
    ];
    const table: string[] = [];
    try {
      for (const b of bad) {
        const r = await runCli([...(b.args ?? []), "engine", "info"], {
          env: b.env,
          timeoutMs: 10_000,
        });
        assert.notEqual(r.code, 0, `${b.name}: succeeded`);
        assert.ok(r.code === 2 || r.code === 3, `${b.name}: exit ${r.code}: ${r.stderr}`);
        const first = r.stderr.split("\n")[0] ?? "";
        assert.match(first, b.expect, b.name);
        table.push(`${b.name.padEnd(24)} exit ${r.code}  ${Math.round(r.ms)} ms  ${first}`);
      }
    } finally {
      // Held sockets would keep the server, and the test process, alive.
      for (const socket of held) socket.destroy();
      silent.close();
    }
    process.stdout.write(`# failures\n${table.map((l) => `#   ${l}`).join("\n")}\n`);
  });

  it("reports a connection lost mid-build as such, not as a hang", async () => {
    const marker = `hln-drop-${nonce()}`;
    const sock = join(dir, "droppable.sock");
    droppable = await startRelay({ listen: `unix://${sock}`, dockerSocket: remoteSock });
    const stack = join(dir, "slow");
    writeFileSync(
      `${stack}.ts`,
      `import { defineStack } from "hln";
export default defineStack({ name: "slow", version: "0.0.1", actions: { async up({ dag }) {
  const out = await dag.container().from("busybox")
    .withExec(["sh", "-c", "sleep 30; echo ${marker}"]).stdout();
  return { out };
} } });
`,
    );
    const run = runCli(["--log-format", "plain", "do", "up", "--plan", `${stack}.ts`], {
      env: { BUILDKIT_HOST: `unix://${sock}` },
      timeoutMs: 25_000,
    });
    // Drop the connection once the step runs.
    await until("the step runs", () => processes(marker).length > 0);
    await droppable.close();
    const r = await run;
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /lost the connection to unix:\/\/.*droppable\.sock during the build/);
  });

  it("reports a silent network drop once the engine stops checking on the session", async () => {
    const port = 1239;
    const marker = `hln-silent-${nonce()}`;
    children.push(
      await relayInNamespace(["--listen", `tcp://${remoteAddr}:${port}`, "--docker", remoteSock]),
    );
    const stack = join(dir, "quiet.ts");
    writeFileSync(
      stack,
      `import { defineStack } from "hln";
export default defineStack({ name: "quiet", version: "0.0.1", actions: { async up({ dag }) {
  const out = await dag.container().from("busybox")
    .withExec(["sh", "-c", "sleep 60; echo ${marker}"]).stdout();
  return { out };
} } });
`,
    );
    const rule = ["INPUT", "-p", "tcp", "--dport", String(port), "-j", "DROP"];
    const iptables = (op: string) =>
      execFileSync("nsenter", [`--net=${netns}`, "iptables", op, ...rule], { stdio: "ignore" });
    const run = runCli(["--log-format", "plain", "do", "up", "--plan", stack], {
      env: { BUILDKIT_HOST: `tcp://${remoteAddr}:${port}`, HLN_SILENCE_TIMEOUT: "6s" },
      timeoutMs: 50_000,
    });
    try {
      await until("the step runs", () => processes(marker).length > 0);
      // Packets vanish: no reset, no close, nothing for the client to notice by itself.
      iptables("-I");
      const r = await run;
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        /lost the connection to tcp:\/\/10\.201\.0\.2:1239: no word from the engine for over 6 s/,
      );
    } finally {
      iptables("-D");
    }
  });
});
