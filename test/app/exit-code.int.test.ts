/**
 * A service that dies as it starts is reported with the code it exited with, even when
 * its restart policy has started it again by the time hln looks (a running container's
 * ExitCode reads 0; CI once printed "exited with 0" for a command that exits 4).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { exitCodeAsItStarted } from "../../src/app/converge.js";
import {
  createContainer,
  inspectContainer,
  removeContainer,
  startContainer,
} from "../../src/docker/containers.js";
import { nonce } from "../helpers/engine.js";
import { localDocker } from "../helpers/hand-app.js";

const docker = localDocker();
const made: string[] = [];

after(async () => {
  for (const id of made) await removeContainer(docker, id, { force: true }).catch(() => {});
});

describe("the exit code of a service that died as it started", () => {
  it("is its next exit's when the engine has already started it again", async () => {
    const id = await createContainer(docker, `hln-exit-${nonce()}`, {
      Image: "busybox",
      Cmd: ["sh", "-c", "sleep 1; exit 4"],
    });
    made.push(id);
    await startContainer(docker, id);
    const running = await inspectContainer(docker, id);
    assert.ok(running?.State.Running, "started");
    assert.equal(running?.State.ExitCode, 0, "a running container's ExitCode reads 0");
    assert.equal(await exitCodeAsItStarted(docker, id, running.State, undefined), 4);
  });

  it("is the recorded one when it is not running", async () => {
    const id = await createContainer(docker, `hln-exit-${nonce()}`, {
      Image: "busybox",
      Cmd: ["sh", "-c", "exit 5"],
    });
    made.push(id);
    await startContainer(docker, id);
    let state = (await inspectContainer(docker, id))?.State;
    while (state?.Running) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await inspectContainer(docker, id))?.State;
    }
    assert.ok(state);
    assert.equal(await exitCodeAsItStarted(docker, id, state, undefined), 5);
  });
});
