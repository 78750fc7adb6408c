/**
 * The swarm test environment itself, through the Docker Engine API only (no hln code):
 * test/helpers/swarm.ts forms a two-node swarm over the veth pair, an image pushed to
 * its plain-HTTP registry on 10.201.0.1 is pulled by both nodes, a two-replica service
 * spreads one task per node, its host-mode published port answers on each node, tasks
 * reach each other by service name over the overlay across nodes, and, where the kernel
 * has IPVS, the ingress routing mesh answers on 127.0.0.1 from both tasks. If this fails,
 * the swarm tests of hln would fail for reasons that are not hln's.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { DockerClient } from "../../src/docker/client.js";
import { tagImage } from "../../src/docker/images.js";
import { StdcopyDemuxer } from "../../src/docker/stdcopy.js";
import { nonce } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import { startPoller } from "../helpers/poller.js";
import { ipvsAvailable, type TestSwarm, useSwarm, workerAddr } from "../helpers/swarm.js";
import { until } from "../helpers/until.js";

const id = nonce();
const name = `hln-env-${id}`;
const meshName = `hln-env-mesh-${id}`;
let swarm: TestSwarm;
let image: string | undefined;
let pinned: string;
const made: { services: string[]; network?: string; netns?: string } = { services: [] };
/** The host-mode published port of the first service. */
let port: number;

interface Task {
  ID: string;
  NodeID: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

/**
 * Pushes an image the manager holds and resolves with the manifest digest. Docker 26's
 * containerd image store reports it only in the last status line ("TAG: digest: sha256:…
 * size: N"), not as an aux message, so src/docker/images.ts's pushImage does not fit.
 */
async function push(ref: string): Promise<string> {
  const colon = ref.lastIndexOf(":");
  const res = await swarm.manager.stream(
    "POST",
    `/images/${encodeURIComponent(ref.slice(0, colon))}/push?tag=${ref.slice(colon + 1)}`,
    { headers: { "X-Registry-Auth": Buffer.from("{}").toString("base64") } },
  );
  let text = "";
  for await (const c of res) text += (c as Buffer).toString("utf8");
  const error = /"error":"([^"]*)"/.exec(text)?.[1];
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(text)?.[1];
  if (error || !digest) throw new Error(`push ${ref}: ${error ?? text.slice(-400)}`);
  return digest;
}

/** A busybox httpd answering with the ID of the node its task runs on. */
function httpdSpec(service: string, endpoint: unknown, networks: { Target: string }[]) {
  return {
    Name: service,
    TaskTemplate: {
      ContainerSpec: {
        Image: pinned,
        Env: ["NODE={{.Node.ID}}"],
        Command: [
          "sh",
          "-c",
          'mkdir -p /www && echo "$NODE" >/www/index.html && exec httpd -f -p 8080 -h /www',
        ],
        // httpd as PID 1 ignores SIGTERM: removal would wait out the default 10 s.
        StopGracePeriod: 1_000_000_000,
      },
      Placement: { MaxReplicas: 1 },
      RestartPolicy: { Condition: "none" },
      Networks: networks,
    },
    Mode: { Replicated: { Replicas: 2 } },
    EndpointSpec: endpoint,
  };
}

async function create(spec: { Name: string }): Promise<string> {
  const { ID } = await swarm.manager.json<{ ID: string }>("POST", "/services/create", {
    body: spec,
  });
  made.services.push(ID);
  return ID;
}

/** Waits for both tasks of a service to run, and returns them. */
function running(service: string): Promise<Task[]> {
  const filters = encodeURIComponent(
    JSON.stringify({ service: [service], "desired-state": ["running"] }),
  );
  return until(
    `both tasks of ${service} run`,
    async () => {
      const ts = await swarm.manager.json<Task[]>("GET", `/tasks?filters=${filters}`);
      const failed = ts.find((t) => ["failed", "rejected"].includes(t.Status.State));
      if (failed)
        throw new Error(`task ${failed.ID}: ${failed.Status.State}: ${failed.Status.Err}`);
      return ts.length === 2 && ts.every((t) => t.Status.State === "running") ? ts : undefined;
    },
    60_000,
  );
}

async function taskContainers(docker: DockerClient, service: string) {
  const filters = encodeURIComponent(
    JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`] }),
  );
  return docker.json<{ Id: string }[]>("GET", `/containers/json?all=1&filters=${filters}`);
}

/** Runs a command in a container and resolves with its stdout. */
async function exec(docker: DockerClient, container: string, cmd: string[]): Promise<string> {
  const { Id } = await docker.json<{ Id: string }>("POST", `/containers/${container}/exec`, {
    body: { Cmd: cmd, AttachStdout: true, AttachStderr: true },
  });
  const res = await docker.stream("POST", `/exec/${Id}/start`, {
    headers: { "Content-Type": "application/json" },
    body: Readable.from([JSON.stringify({ Detach: false, Tty: false })]),
  });
  let out = "";
  const demux = new StdcopyDemuxer((stream, payload) => {
    if (stream === "stdout") out += payload.toString("utf8");
  });
  for await (const c of res) demux.push(c as Buffer);
  return out;
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch((err: Error) => {
    throw new Error(`GET ${url}: ${err.message} (${(err.cause as Error | undefined)?.message})`);
  });
  assert.equal(res.status, 200, url);
  return (await res.text()).trim();
}

before(async () => {
  swarm = await useSwarm();
});

after(async () => {
  if (made.netns) spawnSync("ip", ["netns", "del", made.netns]);
  for (const service of made.services)
    await swarm.manager.json("DELETE", `/services/${service}`).catch(() => undefined);
  // Swarm removes a deleted service's task containers on each node a moment later; the
  // network and the image cannot go before.
  for (const docker of [swarm.manager, swarm.worker])
    for (const service of [name, meshName])
      await until(
        `${docker.endpoint} has no task of ${service}`,
        async () => ((await taskContainers(docker, service)).length === 0 ? true : undefined),
        60_000,
      );
  if (made.network)
    await until(
      "the overlay network is removed",
      async () =>
        swarm.manager
          .json("DELETE", `/networks/${made.network}`)
          .then(() => true)
          .catch(() => undefined),
      60_000,
    );
  // By name, never by ID (busybox:latest is the same image): the tag on the manager, and
  // on the worker the name it pulled, pinned by digest (NAME:TAG@sha256:…).
  for (const docker of [swarm.manager, swarm.worker]) {
    const images = await docker.json<{ RepoTags: string[] | null; RepoDigests: string[] | null }[]>(
      "GET",
      "/images/json",
    );
    const repo = `${swarm.registry}/hln-env/busybox`;
    const ours = (ref: string) => ref.startsWith(`${repo}:`) || ref.startsWith(`${repo}@`);
    for (const i of images) {
      const names = [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])];
      // A digest name of an image that also carries busybox:latest would take that too.
      const refs = names.every(ours) ? names : (i.RepoTags ?? []).filter(ours);
      for (const ref of refs)
        await docker.json("DELETE", `/images/${encodeURIComponent(ref)}`).catch(() => {});
    }
  }
  await swarm.release();
});

describe("the test swarm", () => {
  it("has two ready nodes: the manager on 10.201.0.1 and the worker on 10.201.0.2", () => {
    console.log(
      `# swarm nodes: ${JSON.stringify(swarm.nodes)}; registry ${swarm.registry}; IPVS ${ipvsAvailable() ? "present" : "absent"}`,
    );
    assert.deepEqual(
      swarm.nodes.map((n) => [n.role, n.addr]),
      [
        ["manager", "10.201.0.1"],
        ["worker", "10.201.0.2"],
      ],
    );
    assert.notEqual(swarm.nodes[0]!.id, swarm.nodes[1]!.id);
  });

  it("guards the machine's external interfaces while the swarm exists", () => {
    // -C exits non-zero when the rule is not there.
    execFileSync("iptables", [
      "-w",
      "-C",
      "DOCKER-USER",
      "-o",
      "docker_gwbridge",
      "-j",
      "HLN-SWARM-FWD",
    ]);
    execFileSync("iptables", ["-w", "-C", "INPUT", "-j", "HLN-SWARM-IN"]);
    execFileSync("ip6tables", ["-w", "-C", "INPUT", "-j", "HLN-SWARM-IN"]);
  });

  it("runs one task per node from the registry, each answering on its node's published port", async () => {
    image = `${swarm.registry}/hln-env/busybox:${id}`;
    await tagImage(swarm.manager, "busybox:latest", `${swarm.registry}/hln-env/busybox`, id);
    pinned = `${image}@${await push(image)}`;
    const net = await swarm.manager.json<{ Id: string }>("POST", "/networks/create", {
      body: { Name: name, Driver: "overlay", Labels: { "dev.hln.test": id } },
    });
    made.network = net.Id;
    port = await freePort();
    await create(
      httpdSpec(
        name,
        {
          Mode: "dnsrr",
          Ports: [{ Protocol: "tcp", TargetPort: 8080, PublishedPort: port, PublishMode: "host" }],
        },
        [{ Target: net.Id }],
      ),
    );
    const tasks = await running(name);
    assert.deepEqual(
      tasks.map((t) => t.NodeID).sort(),
      swarm.nodes.map((n) => n.id).sort(),
      "one task on each node",
    );
    const [managerNode, workerNode] = swarm.nodes;
    // Once, under load, the first request right after the task ran failed: asked again
    // for a while, each must answer, from its own node.
    const answer = (url: string) =>
      until(`${url} answers`, () => get(url).catch(() => undefined), 10_000);
    assert.equal(await answer(`http://127.0.0.1:${port}/`), managerNode!.id);
    assert.equal(await answer(`http://${workerAddr}:${port}/`), workerNode!.id);
  });

  it("lets a task reach both tasks by the service's name, across nodes over the overlay", async () => {
    const [container] = await taskContainers(swarm.manager, name);
    assert.ok(container, "a task container on the manager");
    // dnsrr: the name resolves to every task's address; each answers with its node.
    const out = await exec(swarm.manager, container.Id, [
      "sh",
      "-c",
      `for ip in $(nslookup -type=a ${name} 127.0.0.11 | sed -n 's/^Address: *//p'); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc $ip 8080 | tail -n 1; done`,
    ]);
    console.log(
      `# ${name} by name from the manager's task: ${JSON.stringify(out.trim().split("\n"))}`,
    );
    assert.deepEqual(out.trim().split("\n").sort(), swarm.nodes.map((n) => n.id).sort());
  });

  it("answers on the published port from the test hosts' link, and not from an outside interface", async () => {
    assert.ok(port, "the service was made");
    // An "outside" host: a namespace of its own behind a veth whose host side is none of
    // the interfaces the guards let through (lo, hln-*, Docker's bridges).
    const ns = `swo${id.slice(0, 8)}`;
    const octet = randomInt(1, 255);
    const [hostIp, nsIp] = [`10.203.${octet}.1`, `10.203.${octet}.2`];
    made.netns = ns;
    for (const args of [
      ["netns", "add", ns],
      ["link", "add", `${ns}h`, "type", "veth", "peer", "name", `${ns}o`, "netns", ns],
      ["addr", "add", `${hostIp}/30`, "dev", `${ns}h`],
      ["link", "set", `${ns}h`, "up"],
      ["-n", ns, "addr", "add", `${nsIp}/30`, "dev", `${ns}o`],
      ["-n", ns, "link", "set", `${ns}o`, "up"],
      ["-n", ns, "link", "set", "lo", "up"],
      ["-n", ns, "route", "add", "default", "via", hostIp],
    ])
      execFileSync("ip", args);
    // curl's exit: 0 answered, 7 refused (the guard's reset), 28 no answer within 3 s.
    const curl = (netns: string, url: string) => {
      const r = spawnSync("ip", ["netns", "exec", netns, "curl", "-sS", "-m", "3", url], {
        encoding: "utf8",
      });
      return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    const reached = {
      // Control: the same port through hln-r0, from the worker's namespace.
      fromLink: curl("hln-remote", `http://10.201.0.1:${port}/`),
      published: curl(ns, `http://${hostIp}:${port}/`),
      registry: curl(ns, `http://${swarm.registry}/v2/`),
      control: curl(ns, "http://10.201.0.1:2377/"),
    };
    console.log(`# from outside (${nsIp}) and from hln-r0: ${JSON.stringify(reached)}`);
    assert.equal(reached.fromLink.out, swarm.nodes[0]!.id, reached.fromLink.err);
    for (const what of ["published", "registry", "control"] as const)
      assert.ok(
        reached[what].code === 7 || reached[what].code === 28,
        `${what} port reached from outside: ${JSON.stringify(reached[what])}`,
      );
    execFileSync("ip", ["netns", "del", ns]);
    made.netns = undefined;
  });

  it("answers on 127.0.0.1 through the ingress routing mesh from both tasks", {
    skip: ipvsAvailable()
      ? false
      : "this kernel has no IPVS (CONFIG_IP_VS unset): swarm's VIPs and ingress routing mesh cannot work here",
  }, async () => {
    const port = await freePort();
    await create(
      httpdSpec(
        meshName,
        {
          Ports: [
            { Protocol: "tcp", TargetPort: 8080, PublishedPort: port, PublishMode: "ingress" },
          ],
        },
        [],
      ),
    );
    await running(meshName);
    // The mesh balances connections over both tasks; a few rounds show both.
    const seen = new Map<string, number>();
    const poller = startPoller(`http://127.0.0.1:${port}/`, {
      everyMs: 50,
      onBody: (b) => seen.set(b.trim(), (seen.get(b.trim()) ?? 0) + 1),
    });
    await until(
      "both tasks answered through the ingress port",
      async () => (seen.size >= 2 ? true : undefined),
      30_000,
    ).finally(() => poller.stop());
    const r = await poller.stop();
    console.log(
      `# ingress 127.0.0.1:${port}: ${r.ok}/${r.total} answered, by node ${JSON.stringify(Object.fromEntries(seen))}`,
    );
    assert.deepEqual([...seen.keys()].sort(), swarm.nodes.map((n) => n.id).sort());
  });
});
