/**
 * Image calls against the real engine at /var/run/docker.sock, on the seeded
 * busybox:latest. The names a test adds are removed in `after`; busybox keeps its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDockerClient, type DockerClient } from "../../src/docker/client.js";
import { inspectImage, listImages, tagImage, untagImage } from "../../src/docker/images.js";
import { unixDialer } from "../../src/transport/dialer.js";
import { nonce } from "../helpers/engine.js";

const socket = "/var/run/docker.sock";
const run = nonce();

describe("docker images", () => {
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
    for (const i of await listImages(docker, { reference: `hln/t${run}/*` }))
      for (const tag of i.RepoTags ?? []) await untagImage(docker, tag);
    docker.close();
  });

  it("inspects an image, and says undefined for one the engine does not have", async () => {
    const busybox = await inspectImage(docker, "busybox:latest");
    assert.match(busybox?.Id ?? "", /^sha256:[0-9a-f]{64}$/);
    assert.ok(busybox?.RepoTags?.includes("busybox:latest"));
    assert.deepEqual(busybox?.Config?.Cmd, ["sh"]);
    assert.equal(await inspectImage(docker, `hln/t${run}/none:latest`), undefined);
  });

  it("tags an image, lists it by reference pattern and untags it", async () => {
    const repo = `hln/t${run}/api`;
    const tag = "0123456789ab";
    const busybox = await inspectImage(docker, "busybox:latest");
    await tagImage(docker, "busybox:latest", repo, tag);
    const listed = await listImages(docker, { reference: `hln/t${run}/*` });
    assert.deepEqual(
      listed.map((i) => [i.Id, i.RepoTags?.filter((t) => t.startsWith("hln/"))]),
      [[busybox?.Id, [`${repo}:${tag}`]]],
    );
    assert.equal((await inspectImage(docker, `${repo}:${tag}`))?.Id, busybox?.Id);
    assert.deepEqual(await listImages(docker, { reference: `hln/t${run}-other/*` }), []);

    await untagImage(docker, `${repo}:${tag}`);
    assert.deepEqual(await listImages(docker, { reference: `hln/t${run}/*` }), []);
    assert.equal((await inspectImage(docker, "busybox:latest"))?.Id, busybox?.Id);
  });

  it("names the endpoint, method and path when a tag's source is missing", async () => {
    await assert.rejects(tagImage(docker, `hln/t${run}/none:latest`, `hln/t${run}/x`, "y"), {
      code: "E_ENGINE_PROTOCOL",
      message: new RegExp(
        `^unix://${socket}: POST /images/hln%2Ft${run}%2Fnone%3Alatest/tag\\?repo=hln%2Ft${run}%2Fx&tag=y: HTTP 404: `,
      ),
    });
  });
});
