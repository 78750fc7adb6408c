/**
 * A one-node swarm with no registry: the engine of a throwaway dockerd in a namespace of its
 * own (test/helpers/scratch-engine.ts) made a swarm manager. `hln up` finds the manager by
 * itself, says in the plan that the images stay on the node, runs the services there from
 * the images it stored, changes nothing the second time, and `hln down` leaves no service,
 * network or image of the app. Also: `--target docker` on the same manager deploys plain
 * containers, warning that replicas are ignored.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createDockerClient, type DockerClient } from "../../src/docker/client.js";
import { dialerForDockerHost } from "../../src/engine/dial-docker-host.js";
import { nonce } from "../helpers/engine.js";
import { runCli } from "../helpers/run-cli.js";
import { type ScratchEngine, startScratchEngine } from "../helpers/scratch-engine.js";
import { tempDir } from "../helpers/temp-dir.js";

let engine: ScratchEngine | undefined;
let docker: DockerClient;
const app = `one${nonce().slice(0, 6)}`;
const stateHome = tempDir("hln-swarm-one-state-");
const stackDir = tempDir("hln-swarm-one-stack-");

writeFileSync(
  join(stackDir, "stack.ts"),
  `import { defineStack } from "hln";
export default defineStack({
  name: "one-node",
  version: "0.1.0",
  description: "a busybox service with two replicas",
  inputs: { message: { type: "string", default: "one", description: "what it says" } },
  actions: {
    async up({ dag, inputs, app }) {
      const box = dag.container().from("busybox:latest").withNewFile("/msg", inputs.message + "\\n");
      app.service("box", box, {
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
        replicas: 2,
        healthcheck: { test: ["sh", "-c", "test -s /msg"], interval: "1s", retries: 5 },
      });
      return {};
    },
  },
});
`,
);

function env(): NodeJS.ProcessEnv {
  return {
    XDG_STATE_HOME: stateHome,
    DOCKER_HOST: engine!.host,
    BUILDKIT_HOST: "",
    DOCKER_CONTEXT: "",
    HLN_REGISTRY: "",
  };
}

const hln = (args: string[]) =>
  runCli(["--log-format", "plain", ...args], { env: env(), timeoutMs: 300_000 });

before(async () => {
  engine = await startScratchEngine();
  docker = createDockerClient(dialerForDockerHost(engine.host));
  // Its namespace has only loopback, down until now: the swarm listens and advertises there.
  execFileSync("ip", ["-n", engine.netns, "link", "set", "lo", "up"]);
  await docker.json("POST", "/swarm/init", {
    body: { ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1" },
  });
});

after(async () => {
  docker?.close();
  await engine?.remove();
});

async function services(): Promise<{ Spec: { Name: string; Labels?: Record<string, string> } }[]> {
  return docker.json("GET", "/services");
}

describe("a one-node swarm without a registry", () => {
  it("deploys to the swarm by itself, running the images it stored there", async () => {
    const r = await hln(["up", app, "--dir", stackDir, "--no-mesh"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /on the swarm managed by unix:\/\//);
    assert.match(r.stderr, /note: no registry: images stay on this node/);
    const [svc, ...rest] = await services();
    assert.equal(rest.length, 0);
    assert.equal(svc?.Spec.Name, `hln-${app}-box`);
    assert.equal(svc?.Spec.Labels?.["dev.hln.app"], app);
    const tasks = await docker.json<{ Status: { State: string }; DesiredState: string }[]>(
      "GET",
      `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [`hln-${app}-box`], "desired-state": ["running"] }))}`,
    );
    assert.deepEqual(
      tasks.map((t) => t.Status.State),
      ["running", "running"],
    );
  });

  it("changes nothing the second time", async () => {
    const before = await services();
    const r = await hln(["up", app, "--dir", stackDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is up to date/);
    assert.match(r.stderr, /= box +keep \(unchanged\)/);
    assert.deepEqual(await services(), before);
  });

  it("updates on a change and goes down leaving no service, network or image", async () => {
    const changed = await hln(["up", app, "--dir", stackDir, "--set", "message=two"]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stderr, /~ box +update start-first \(image changed\)/);
    const down = await hln(["down", app, "-y"]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await services(), []);
    const networks = await docker.json<{ Name: string }[]>("GET", "/networks");
    assert.equal(
      networks.some((n) => n.Name === `hln-${app}`),
      false,
    );
    const images = await docker.json<{ RepoTags: string[] | null }[]>("GET", "/images/json");
    assert.deepEqual(
      images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.includes(`hln/${app}/`)),
      [],
    );
  });

  it("deploys plain containers on the same manager with --target docker, saying replicas are ignored", async () => {
    const r = await hln(["up", `${app}d`, "--dir", stackDir, "--target", "docker"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: service box: replicas 2 is ignored on a single Docker engine/);
    assert.deepEqual(await services(), []);
    const down = await hln(["down", `${app}d`, "-y"]);
    assert.equal(down.code, 0, down.stderr);
  });
});
