/**
 * Every session feature on engines that are not the local Docker: a host directory in
 * (FileSync), a file out (FileSend), a secret (Secrets), a Dockerfile build joining the
 * graph, and the image stored in the engine deploys go to. With a BuildKit named by
 * address that engine is another Docker, so the image travels as a tarball.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import {
  compatSock,
  relayInNamespace,
  remoteAddr,
  remoteSock,
  requireTestEngines,
  sshPath,
} from "../helpers/remote-host.js";
import { runCli } from "../helpers/run-cli.js";

const stack = `import { defineStack } from "hln";
export default defineStack({
  name: "features",
  version: "0.0.1",
  inputs: { src: { type: "string" }, dest: { type: "string" }, image: { type: "string" } },
  actions: {
    async up({ dag, inputs }) {
      const src = dag.host().directory(inputs.src);
      const token = dag.setSecret("token", "s3cr3t-value-42");
      const built = dag.container().from("busybox")
        .withDirectory("/src", src)
        .withMountedSecret("/run/token", token)
        .withExec(["sh", "-c", "cat /src/a.txt > /out.txt; wc -c < /run/token >> /out.txt"]);
      const out = built.file("/out.txt");
      await out.export(inputs.dest + "/out.txt");
      const fromDockerfile = await (await src.dockerBuild()).file("/b.txt").contents();
      await built.asImage(inputs.image);
      return { out: await out.contents(), dockerfile: fromDockerfile };
    },
  },
});
`;

/** Asks a Docker engine whether it holds an image, and removes it. */
function takeImage(socket: string, name: string): Promise<boolean> {
  const call = (method: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath: socket, method, path }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      });
      req.once("error", reject);
      req.end();
    });
  return (async () => {
    const found = (await call("GET", `/images/${encodeURIComponent(name)}/json`)) === 200;
    if (found) await call("DELETE", `/images/${encodeURIComponent(name)}?force=1`);
    return found;
  })();
}

describe("session features on remote engines", () => {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "hln-remote-features-"));
  const plan = join(dir, "stack.ts");
  const src = join(dir, "src");

  before(async () => {
    requireTestEngines();
    writeFileSync(plan, stack);
    mkdirSync(src);
    writeFileSync(join(src, "a.txt"), `from the host ${nonce()}\n`);
    writeFileSync(
      join(src, "Dockerfile"),
      "FROM busybox\nCOPY a.txt /a.txt\nRUN cp /a.txt /b.txt\n",
    );
    children.push(
      await relayInNamespace(["--listen", `tcp://${remoteAddr}:1237`, "--docker", remoteSock]),
    );
  });

  after(() => {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const engines = [
    {
      name: "tcp:// (images go to the local Docker)",
      env: { BUILDKIT_HOST: `tcp://${remoteAddr}:1237` },
      deploySocket: "/var/run/docker.sock",
    },
    {
      name: "docker-container:// on DOCKER_HOST=ssh:// (images go to the remote Docker)",
      env: {
        DOCKER_HOST: `ssh://root@${remoteAddr}`,
        BUILDKIT_HOST: "docker-container://hln-buildkitd",
        PATH: sshPath,
      },
      deploySocket: remoteSock,
    },
    {
      name: "DOCKER_HOST=ssh://",
      env: { DOCKER_HOST: `ssh://root@${remoteAddr}`, PATH: sshPath },
      deploySocket: remoteSock,
    },
    {
      name: "Docker 20.10",
      env: { DOCKER_HOST: `unix://${compatSock}` },
      deploySocket: compatSock,
    },
  ];

  for (const e of engines) {
    it(e.name, async () => {
      const dest = mkdtempSync(join(dir, "out-"));
      const image = `hln-test/features:${nonce()}`;
      const r = await runCli(
        [
          "--log-format",
          "plain",
          "do",
          "up",
          "--plan",
          plan,
          "-o",
          "json",
          "--set",
          `src=${src}`,
          "--set",
          `dest=${dest}`,
          "--set",
          `image=${image}`,
        ],
        { env: e.env },
      );
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { out: string; dockerfile: string };
      const a = readFileSync(join(src, "a.txt"), "utf8");
      assert.equal(
        result.out,
        `${a}15\n`,
        "the host file and the secret's length reached the step",
      );
      assert.equal(result.dockerfile, a, "the Dockerfile build saw the host directory");
      assert.equal(readFileSync(join(dest, "out.txt"), "utf8"), result.out, "the export arrived");
      assert.ok(!r.stdout.includes("s3cr3t") && !r.stderr.includes("s3cr3t"), "the secret leaked");
      assert.ok(await takeImage(e.deploySocket, image), `no image ${image} on ${e.deploySocket}`);
    });
  }

  it("names the feature an old engine lacks, and the release that brought it", async () => {
    const old = join(dir, "secret-env.ts");
    writeFileSync(
      old,
      `import { defineStack } from "hln";
export default defineStack({ name: "secret-env", version: "0.0.1", actions: { async up({ dag }) {
  const token = dag.setSecret("token", "v");
  return { out: await dag.container().from("busybox").withSecretVariable("TOKEN", token)
    .withExec(["sh", "-c", "echo \${#TOKEN} ${nonce()}"]).stdout() };
} } });
`,
    );
    const r = await runCli(["do", "up", "--plan", old], {
      env: { DOCKER_HOST: `unix://${compatSock}` },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /hln-compat\.sock .*does not support secret environment variables \(withSecretVariable\); it needs BuildKit v0\.10 or newer \(cap exec\.secretenv\)/,
    );
  });
});
