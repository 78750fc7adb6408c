/**
 * Network and volume calls against the real engine at /var/run/docker.sock. Everything
 * carries a nonce label and is removed in `after`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDockerClient, type DockerClient } from "../../src/docker/client.js";
import { createContainer, listContainers, removeContainer } from "../../src/docker/containers.js";
import { createNetwork, listNetworks, removeNetwork } from "../../src/docker/networks.js";
import { createVolume, listVolumes, removeVolume } from "../../src/docker/volumes.js";
import { unixDialer } from "../../src/transport/dialer.js";
import { nonce } from "../helpers/engine.js";

const socket = "/var/run/docker.sock";
const run = nonce();
const app = `t${run}`;

describe("docker networks and volumes", () => {
  let docker: DockerClient;
  before(async () => {
    docker = createDockerClient(unixDialer(socket));
    try {
      await docker.ping();
    } catch (err) {
      throw new Error(`these tests need the Docker engine at ${socket}: ${(err as Error).message}`);
    }
  });
  after(async () => {
    const labels = [`dev.hln.app=${app}`];
    for (const c of await listContainers(docker, { labels }))
      await removeContainer(docker, c.Id, { force: true });
    for (const n of await listNetworks(docker, { labels })) await removeNetwork(docker, n.Id);
    for (const v of await listVolumes(docker, { labels })) await removeVolume(docker, v.Name);
    docker.close();
  });

  it("creates, finds by label and removes a network", async () => {
    const name = `hln-${app}`;
    const id = await createNetwork(docker, name, { "dev.hln.app": app });
    assert.match(id, /^[0-9a-f]{64}$/);
    const found = await listNetworks(docker, { labels: [`dev.hln.app=${app}`] });
    assert.deepEqual(
      found.map((n) => [n.Id, n.Name, n.Labels]),
      [[id, name, { "dev.hln.app": app }]],
    );
    assert.deepEqual(await listNetworks(docker, { labels: [`dev.hln.app=${app}-other`] }), []);
    assert.ok((await listNetworks(docker, {})).some((n) => n.Name === "bridge"));

    await assert.rejects(createNetwork(docker, name, { "dev.hln.app": app }), {
      code: "E_USAGE",
      message: `unix://${socket}: POST /networks/create: a network named "${name}" already exists`,
    });

    await removeNetwork(docker, id);
    // Gone already: fine.
    await removeNetwork(docker, id);
    assert.deepEqual(await listNetworks(docker, { labels: [`dev.hln.app=${app}`] }), []);
  });

  it("creates, finds by label and removes a volume, and keeps one in use", async () => {
    const name = `hln-${app}-data`;
    const labels = { "dev.hln.app": app, "dev.hln.volume": "data" };
    await createVolume(docker, name, labels);
    // A name that exists is that volume.
    await createVolume(docker, name, labels);
    const found = await listVolumes(docker, {
      labels: [`dev.hln.app=${app}`, "dev.hln.volume=data"],
    });
    assert.deepEqual(
      found.map((v) => [v.Name, v.Labels]),
      [[name, labels]],
    );
    assert.deepEqual(await listVolumes(docker, { labels: [`dev.hln.app=${app}-other`] }), []);

    // Created and never started still counts as in use.
    const user = await createContainer(docker, `hln-${app}-user`, {
      Image: "busybox:latest",
      Cmd: ["true"],
      Labels: { "dev.hln.app": app },
      HostConfig: { Mounts: [{ Type: "volume", Source: name, Target: "/data" }] },
    });
    await assert.rejects(removeVolume(docker, name), {
      code: "E_USAGE",
      message: `unix://${socket}: DELETE /volumes/${name}: volume "${name}" is in use by container ${user.slice(0, 12)}`,
    });
    // Removing the container never takes the named volume with it.
    await removeContainer(docker, user, { force: true });
    assert.equal((await listVolumes(docker, { labels: [`dev.hln.app=${app}`] })).length, 1);

    await removeVolume(docker, name);
    // Gone already: fine.
    await removeVolume(docker, name);
    assert.deepEqual(await listVolumes(docker, { labels: [`dev.hln.app=${app}`] }), []);
  });
});
