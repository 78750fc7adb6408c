/**
 * `hln up` wherever builds and apps are: both on the local engine; BuildKit on the second
 * host over tcp:// with the app on the local Docker (images travel as tarballs); both on
 * the second host through DOCKER_HOST=ssh://, where one ssh connection serves the whole run.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createDockerClient, type DockerClient } from "../../src/docker/client.js";
import { unixDialer } from "../../src/transport/dialer.js";
import { nonce } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import {
  netns,
  relayInNamespace,
  remoteAddr,
  remoteSock,
  requireTestEngines,
} from "../helpers/remote-host.js";
import { runCli } from "../helpers/run-cli.js";
import { classify, type SshPath, sshPath } from "../helpers/ssh-paths.js";
import { tempDir } from "../helpers/temp-dir.js";

const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "pairing",
  version: "1.0.0",
  inputs: { port: { type: "number" }, text: { type: "string", default: "paired" } },
  actions: {
    up({ dag, inputs, app }) {
      const base = dag.container().from("busybox");
      app.job("prepare", base, { command: ["sh", "-c", "echo prepared"] });
      app.service("web", base.withNewFile("/www/index.html", inputs.text), {
        command: ["httpd", "-f", "-p", "80", "-h", "/www"],
        ports: [{ host: inputs.port, container: 80 }],
        dependsOn: { prepare: "completed" },
        healthcheck: { test: ["wget", "-qO-", "http://127.0.0.1/"], interval: "300ms", retries: 20 },
      });
      return { url: "http://127.0.0.1:" + inputs.port };
    },
  },
});
`;

const dir = tempDir("hln-pairings-");
writeFileSync(join(dir, "stack.ts"), stackSource);
mkdirSync(join(dir, "state"));
const local = createDockerClient(unixDialer("/var/run/docker.sock"));
const remote = createDockerClient(unixDialer(remoteSock));

async function names(docker: DockerClient, app: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
  const list = await docker.json<{ Names: string[] }[]>(
    "GET",
    `/containers/json?all=1&filters=${filters}`,
  );
  return list.map((c) => c.Names[0] ?? "").sort();
}

/** What the service answers, asked from the network namespace the engine publishes in. */
function fetchIn(namespace: string | undefined, url: string): string {
  const script = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  return namespace
    ? execFileSync("nsenter", [`--net=${namespace}`, process.execPath, "-e", script], {
        encoding: "utf8",
      })
    : execFileSync(process.execPath, ["-e", script], { encoding: "utf8" });
}

describe("hln up across engine pairings", () => {
  let relay: ChildProcess | undefined;
  let ssh: SshPath;
  const table: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  before(() => {
    requireTestEngines();
    ssh = sshPath("direct");
  });
  after(async () => {
    for (const c of cleanups) await c().catch(() => {});
    relay?.kill();
    ssh.close();
    local.close();
    remote.close();
    process.stdout.write(`# engine pairings\n${table.map((l) => `#   ${l}`).join("\n")}\n`);
  });

  const cases = [
    { name: "BuildKit and apps on the local engine", kind: "local" },
    { name: "BuildKit on tcp:// (second host), apps on the local engine", kind: "tcp" },
    { name: "both on the second host through DOCKER_HOST=ssh://", kind: "ssh" },
  ] as const;

  for (const c of cases) {
    it(c.name, async () => {
      let env: NodeJS.ProcessEnv = { XDG_STATE_HOME: join(dir, "state"), HLN_LOG_FORMAT: "plain" };
      if (c.kind === "tcp") {
        const port = 20000 + Math.floor(Math.random() * 20000);
        relay = await relayInNamespace([
          "--listen",
          `tcp://${remoteAddr}:${port}`,
          "--docker",
          remoteSock,
        ]);
        env = { ...env, BUILDKIT_HOST: `tcp://${remoteAddr}:${port}` };
      }
      if (c.kind === "ssh")
        env = { ...env, DOCKER_HOST: `ssh://root@${remoteAddr}`, PATH: ssh.PATH };
      const deployedOn = c.kind === "ssh" ? remote : local;
      const app = `p${nonce()}`;
      const port = await freePort();
      cleanups.push(() => runCli(["down", app, "-y", "--volumes"], { env }));

      ssh.reset();
      const first = await runCli(["up", app, "--dir", dir, "--set", `port=${port}`], { env });
      assert.equal(first.code, 0, first.stderr);
      const upSsh = classify(ssh.invocations());
      assert.deepEqual(await names(deployedOn, app), [`/hln-${app}-prepare`, `/hln-${app}-web`]);
      assert.equal(
        fetchIn(c.kind === "ssh" ? netns : undefined, `http://127.0.0.1:${port}/`),
        "paired",
      );

      ssh.reset();
      const again = await runCli(["up", app, "--dir", dir, "--set", `port=${port}`], { env });
      assert.equal(again.code, 0, again.stderr);
      // Node's warnings (a listener per request on a shared connection, say) are defects too.
      for (const r of [first, again]) assert.doesNotMatch(r.stderr, /Warning/);
      assert.match(again.stdout, /is up to date/);
      const againSsh = classify(ssh.invocations());

      const down = await runCli(["down", app, "-y"], { env });
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(await names(deployedOn, app), []);

      if (c.kind === "ssh") {
        // One connection per run, however many requests and streams the run made.
        assert.equal(upSsh.masters.length, 1, upSsh.masters.join("\n"));
        assert.equal(againSsh.masters.length, 1, againSsh.masters.join("\n"));
      } else {
        assert.equal(upSsh.masters.length, 0);
      }
      table.push(
        `${c.name}: cold ${Math.round(first.ms)} ms, no-op ${Math.round(again.ms)} ms${
          c.kind === "ssh"
            ? `; ssh connections ${upSsh.masters.length} (streams ${upSsh.streams.length}) cold, ${againSsh.masters.length} (streams ${againSsh.streams.length}) no-op`
            : ""
        }`,
      );
      if (c.kind === "tcp") {
        relay?.kill();
        relay = undefined;
      }
    });
  }
});
