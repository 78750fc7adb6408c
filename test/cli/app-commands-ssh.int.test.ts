/**
 * status, logs and down reach an app on the second host through DOCKER_HOST=ssh://, the
 * deploy engine being whatever Docker engine DOCKER_HOST names.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDockerClient } from "../../src/docker/client.js";
import { dialerForDockerHost } from "../../src/engine/dial-docker-host.js";
import { HandApp, idle } from "../helpers/hand-app.js";
import { remoteAddr, remoteSock, requireTestEngines, sshPath } from "../helpers/remote-host.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const docker = createDockerClient(dialerForDockerHost(`unix://${remoteSock}`));
const hand = new HandApp(docker);
const env = {
  DOCKER_HOST: `ssh://root@${remoteAddr}`,
  PATH: sshPath,
  XDG_STATE_HOME: tempDir("hln-ssh-apps-"),
};

before(async () => {
  requireTestEngines();
  await hand.create([{ service: "api", cmd: idle("echo remote hello") }]);
});
after(async () => {
  await hand.cleanup();
  docker.close();
});

describe("app commands over ssh://", () => {
  it("shows, tails and removes an app on the remote engine", async () => {
    const status = await runCli(["status", hand.app, "-o", "json"], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).services[0].state, "running");

    const logs = await runCli(["logs", hand.app], { env });
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, "api | remote hello\n");

    const down = await runCli(["down", hand.app, "-y"], { env });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`^removed container hln-${hand.app}-api$`, "m"));
    assert.match(down.stdout, new RegExp(`^kept volume ${hand.volume} `, "m"));
  });
});
