/**
 * DOCKER_HOST=ssh:// on paths made slow or silent on purpose (test/helpers/ssh-paths.ts):
 * a slow handshake still works, a silent phase fails naming that phase, one ssh
 * connection carries the whole run, and nothing ssh started outlives the run.
 *
 * The second host comes from `bash scripts/test-deps.sh` (scripts/remote-host-up.sh).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createDockerClient } from "../../src/docker/client.js";
import { dialerForDockerHost } from "../../src/engine/dial-docker-host.js";
import { HlnError } from "../../src/errors.js";
import { nonce } from "../helpers/engine.js";
import { processes, until } from "../helpers/processes.js";
import { remoteAddr, remoteSock, requireTestEngines } from "../helpers/remote-host.js";
import { repoRoot, runCli } from "../helpers/run-cli.js";
import { classify, type SshPath, type SshPathKind, sshPath } from "../helpers/ssh-paths.js";

const host = `ssh://root@${remoteAddr}`;
const container = "docker-container://hln-buildkitd";

describe("DOCKER_HOST=ssh://", () => {
  const paths = new Map<SshPathKind, SshPath>();
  const path = (kind: SshPathKind) => {
    let p = paths.get(kind);
    if (!p) {
      p = sshPath(kind);
      paths.set(kind, p);
    }
    return p;
  };
  before(() => requireTestEngines());
  after(() => {
    for (const p of paths.values()) p.close();
  });

  /** Runs hln with `path`'s ssh, and checks that no process or ControlPath of it is left. */
  async function hln(p: SshPath, args: string[], env: NodeJS.ProcessEnv = {}) {
    p.reset();
    const r = await runCli(args, {
      env: { DOCKER_HOST: host, HLN_LOG_FORMAT: "quiet", PATH: p.PATH, ...env },
      timeoutMs: 120_000,
    });
    await noneLeft(p);
    return { ...r, first: r.stderr.split("\n")[0] ?? "", ssh: classify(p.invocations()) };
  }

  async function noneLeft(p: SshPath) {
    await until(`no process of ${p.dir} runs`, () => processes(p.dir).length === 0, 10_000);
    for (const socket of classify(p.invocations()).controlPaths)
      assert.ok(!existsSync(dirname(socket)), `${dirname(socket)} is left behind`);
  }

  it("works over a handshake slowed by 1.5 s, with BuildKit in a container or in Docker", async () => {
    const slow = path("slow");
    for (const env of [{ BUILDKIT_HOST: container }, {}]) {
      const info = await hln(slow, ["engine", "info", "-o", "json"], env);
      assert.equal(info.code, 0, `${JSON.stringify(env)}: ${info.stderr}`);
    }
    const up = await hln(slow, ["do", "up", "--plan", "stacks/hello", "-o", "json"], {
      BUILDKIT_HOST: container,
    });
    assert.equal(up.code, 0, up.stderr);
    // The one ssh that went through the slow path is the shared connection.
    assert.equal(up.ssh.masters.length, 1);
  });

  it("starts one ssh connection a run; one stream carries every Docker API request", async () => {
    const direct = path("direct");
    // What each run needs besides the API stream: Docker's BuildKit takes a /grpc upgrade
    // and a /session one per build; a BuildKit container takes one exec (buildctl dial-stdio),
    // which carries its session inside.
    const runs: { args: string[]; env: NodeJS.ProcessEnv; hijacks: number }[] = [
      { args: ["engine", "info"], env: {}, hijacks: 1 },
      { args: ["do", "up", "--plan", "stacks/hello"], env: {}, hijacks: 2 },
      { args: ["engine", "info"], env: { BUILDKIT_HOST: container }, hijacks: 1 },
      {
        args: ["do", "up", "--plan", "stacks/hello"],
        env: { BUILDKIT_HOST: container },
        hijacks: 1,
      },
    ];
    const table: string[] = [];
    for (const run of runs) {
      const r = await hln(direct, run.args, run.env);
      const name = `${run.args.slice(0, 2).join(" ")}${run.env.BUILDKIT_HOST ? " (container)" : ""}`;
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.ssh.masters.length, 1, `${name}: connections: ${r.ssh.masters.join("\n")}`);
      assert.equal(r.ssh.streams.length, 1 + run.hijacks, `${name}: ${r.ssh.streams.join("\n")}`);
      for (const s of r.ssh.streams) assert.match(s, /docker system dial-stdio$/);
      assert.equal(r.ssh.controls.length, 1, `${name}: ends its connection with ssh -O exit`);
      assert.deepEqual(r.ssh.other, []);
      table.push(
        `${name.padEnd(28)} ${r.ssh.masters.length} connection, ${r.ssh.streams.length} streams, ${r.ssh.controls.length} -O exit`,
      );
    }
    process.stdout.write(`# ssh processes\n${table.map((l) => `#   ${l}`).join("\n")}\n`);
  });

  it("fails naming the phase that stayed silent", async () => {
    // ssh's own ConnectTimeout (10 s) bounds the wait for the server's banner.
    const silent = await hln(path("silent"), ["engine", "info"]);
    assert.equal(silent.code, 3, silent.stderr);
    assert.match(
      silent.first,
      /^hln: error: cannot reach ssh:\/\/root@10\.201\.0\.2: ssh handshake did not finish within 10 s \(the server sent no SSH banner\) \(engine from DOCKER_HOST\)$/,
    );

    // Connected and authenticated, but the remote docker talks to a socket that never answers.
    const dir = mkdtempSync(join(tmpdir(), "hln-silent-docker-"));
    const held = new Set<net.Socket>();
    const server = net.createServer((s) => held.add(s));
    await new Promise<void>((r) => server.listen(join(dir, "docker.sock"), r));
    try {
      const r = await hln(path("direct"), ["engine", "info"], {
        DOCKER_HOST: `${host}${dir}/docker.sock`,
      });
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.first,
        /: connected, but docker --host=unix:\/\/\/.*\/docker\.sock system dial-stdio did not answer within 5 s \(engine from DOCKER_HOST\)$/,
      );
    } finally {
      for (const s of held) s.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }

    // Connected, the exec runs, but the container's buildctl never says a word.
    const remote = createDockerClient(dialerForDockerHost(`unix://${remoteSock}`));
    const name = `hln-silent-buildctl-${nonce()}`;
    const script = "#!/bin/sh\nexec sleep 3600\n";
    await remote.json("POST", `/containers/create?name=${name}`, {
      body: {
        Image: "busybox",
        Cmd: [
          "sh",
          "-c",
          `printf '${script}' >/bin/buildctl; chmod +x /bin/buildctl; exec sleep 3601`,
        ],
      },
    });
    try {
      await remote.json("POST", `/containers/${name}/start`);
      // The script has run once the container's own process is the sleep it ends with.
      for (let i = 0; ; i++) {
        const top = await remote.json<{ Processes: string[][] }>("GET", `/containers/${name}/top`);
        if (top.Processes.some((p) => p.join(" ").includes("sleep 3601"))) break;
        assert.ok(i < 100, "the container never got ready");
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await hln(path("direct"), ["engine", "info"], {
        BUILDKIT_HOST: `docker-container://${name}`,
      });
      assert.equal(r.code, 3, r.stderr);
      assert.equal(
        r.first,
        `hln: error: cannot reach docker-container://${name} (on ${host}): connected, but buildctl dial-stdio did not answer within 5 s (engine from BUILDKIT_HOST)`,
      );
    } finally {
      await remote.json("DELETE", `/containers/${name}?force=1`);
      remote.close();
    }
  });

  it("bounds the TCP connect and the whole handshake, each with its own message", async () => {
    const banner = path("banner-only");
    const cases = [
      // Past the banner, ssh itself waits for the key exchange without a bound; hln's applies.
      {
        url: host,
        p: banner,
        ssh: { handshakeTimeoutMs: 3000 },
        message: `cannot reach ${host}: ssh handshake did not finish within 3 s`,
      },
      // Giving up mid-handshake also ends what ssh started: here its ProxyCommand.
      {
        url: host,
        p: path("silent"),
        ssh: { handshakeTimeoutMs: 2000 },
        message: `cannot reach ${host}: ssh handshake did not finish within 2 s`,
      },
      // Nothing answers at this address on the second host's network.
      {
        url: "ssh://root@10.201.0.9",
        p: path("direct"),
        ssh: { connectTimeoutS: 2 },
        message:
          "cannot reach ssh://root@10.201.0.9: TCP connect to 10.201.0.9:22 did not finish within 2 s",
      },
    ];
    for (const c of cases) {
      c.p.reset();
      const docker = createDockerClient(
        dialerForDockerHost(c.url, { env: { ...process.env, PATH: c.p.PATH }, ssh: c.ssh }),
      );
      try {
        await assert.rejects(docker.ping(), (err: unknown) => {
          assert.ok(err instanceof HlnError);
          assert.equal(err.code, "E_ENGINE_UNREACHABLE");
          assert.equal(err.message, c.message);
          return true;
        });
      } finally {
        docker.close();
      }
      await noneLeft(c.p);
    }
  });

  it("leaves no ssh process or ControlPath behind on Ctrl-C, in the handshake or in a build", async () => {
    const marker = `hln-ssh-interrupt-${nonce()}`;
    const dir = mkdtempSync(join(tmpdir(), "hln-ssh-interrupt-"));
    writeFileSync(
      join(dir, "stack.ts"),
      `import { defineStack } from "hln";
export default defineStack({ name: "interrupt", version: "0.0.1", actions: { async up({ dag }) {
  await dag.container().from("busybox").withExec(["sh", "-c", "sleep 300; echo ${marker}"]).sync();
} } });
`,
    );
    const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));
    const slow = path("slow");
    try {
      for (const when of ["handshake", "build"] as const) {
        slow.reset();
        const child = spawn(
          process.execPath,
          [bin, "--log-format", "plain", "do", "up", "--plan", dir],
          {
            cwd: repoRoot,
            env: { ...process.env, DOCKER_HOST: host, PATH: slow.PATH },
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        if (when === "handshake")
          await until("ssh is connecting", () => classify(slow.invocations()).masters.length > 0);
        else await until("the step runs", () => processes(marker).length > 0, 60_000);
        child.kill("SIGINT");
        assert.equal(await exited, 130, `${when}: ${stderr}`);
        await noneLeft(slow);
        await until("the step is stopped", () => processes(marker).length === 0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
