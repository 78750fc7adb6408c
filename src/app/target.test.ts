import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DockerInfo } from "../docker/client.js";
import { HlnError } from "../errors.js";
import { chooseTarget, describeTarget, parseTarget, swarmRole } from "./target.js";

const endpoint = "unix:///var/run/docker.sock";

const manager: DockerInfo = {
  ID: "e1",
  Swarm: {
    LocalNodeState: "active",
    ControlAvailable: true,
    NodeID: "node-1",
    NodeAddr: "10.201.0.1",
    Nodes: 2,
    Managers: 1,
    Cluster: { ID: "cluster-1" },
  },
};
const worker: DockerInfo = {
  ID: "e2",
  Swarm: { LocalNodeState: "active", ControlAvailable: false, NodeID: "node-2", Nodes: 0 },
};
const inactive: DockerInfo = { ID: "e3", Swarm: { LocalNodeState: "inactive" } };
const locked: DockerInfo = { ID: "e4", Swarm: { LocalNodeState: "locked" } };

/** The E_USAGE error `fn` throws. */
function usageError(fn: () => unknown): HlnError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HlnError, String(err));
    assert.equal(err.code, "E_USAGE");
    return err;
  }
  assert.fail("expected an E_USAGE error");
}

describe("swarmRole", () => {
  it("reads a manager, a worker and an engine outside any swarm from /info", () => {
    assert.deepEqual(swarmRole(manager), {
      role: "manager",
      nodes: 2,
      managers: 1,
      clusterId: "cluster-1",
      nodeId: "node-1",
    });
    assert.equal(swarmRole(worker).role, "worker");
    assert.equal(swarmRole(inactive).role, "inactive");
    // An old engine, or one that says nothing of swarms, is not in one.
    assert.deepEqual(swarmRole({}), {
      role: "inactive",
      nodes: 0,
      managers: 0,
      clusterId: "",
      nodeId: "",
    });
    assert.equal(swarmRole({ Swarm: { LocalNodeState: "" } }).role, "inactive");
  });

  it("names a swarm in trouble by Docker's own word, never as a manager", () => {
    assert.equal(swarmRole(locked).role, "locked");
    // ControlAvailable alone does not make a manager: the node must be active.
    assert.equal(
      swarmRole({ Swarm: { LocalNodeState: "pending", ControlAvailable: true } }).role,
      "pending",
    );
  });
});

describe("chooseTarget", () => {
  it("deploys to the swarm a manager manages, unless docker is asked for", () => {
    assert.equal(chooseTarget(manager, endpoint, undefined), "swarm");
    assert.equal(chooseTarget(manager, endpoint, "swarm"), "swarm");
    assert.equal(chooseTarget(manager, endpoint, "docker"), "docker");
  });

  it("deploys to the engine itself when it manages no swarm", () => {
    assert.equal(chooseTarget(inactive, endpoint, undefined), "docker");
    assert.equal(chooseTarget(worker, endpoint, undefined), "docker");
    assert.equal(chooseTarget(worker, endpoint, "docker"), "docker");
    assert.equal(chooseTarget(inactive, endpoint, "docker"), "docker");
    assert.equal(chooseTarget(locked, endpoint, "docker"), "docker");
  });

  it("refuses the swarm on a worker, naming the endpoint and what to point at", () => {
    const err = usageError(() => chooseTarget(worker, "ssh://deploy@node-2", "swarm"));
    assert.match(err.message, /^ssh:\/\/deploy@node-2 is a swarm worker/);
    assert.match(err.message, /manager/);
  });

  it("refuses the swarm on an engine in no swarm, hinting how to make one", () => {
    const err = usageError(() => chooseTarget(inactive, endpoint, "swarm"));
    assert.match(err.message, /^unix:\/\/\/var\/run\/docker.sock is not part of a swarm/);
    assert.match(err.hint ?? "", /docker swarm init/);
  });

  it("refuses the swarm on a locked swarm, saying it is locked", () => {
    const err = usageError(() => chooseTarget(locked, endpoint, "swarm"));
    assert.match(err.message, new RegExp(`^${endpoint}: its swarm is locked`));
  });
});

describe("chooseTarget on a swarm in trouble", () => {
  // A locked manager (autolock, after a restart) is still a manager: deploying containers
  // beside its services would run the app twice once it is unlocked.
  it("does not fall back to the single engine on its own", () => {
    for (const state of ["locked", "pending", "error"]) {
      const info: DockerInfo = { Swarm: { LocalNodeState: state } };
      const err = usageError(() => chooseTarget(info, endpoint, undefined));
      assert.match(err.message, new RegExp(state));
    }
  });
});

describe("parseTarget", () => {
  it("accepts docker and swarm", () => {
    assert.equal(parseTarget("docker", "--target"), "docker");
    assert.equal(parseTarget("swarm", "--target"), "swarm");
  });

  it("rejects anything else, naming the flag and the value", () => {
    for (const value of ["k8s", "", "Swarm", " docker"]) {
      const err = usageError(() => parseTarget(value, "--target"));
      assert.equal(err.message, `--target ${JSON.stringify(value)}: expected one of docker, swarm`);
    }
    assert.match(usageError(() => parseTarget("k8s", "HLN_TARGET")).message, /^HLN_TARGET "k8s"/);
  });
});

describe("describeTarget", () => {
  it("says which target a deploy goes to and why", () => {
    assert.equal(describeTarget(manager), "swarm (this engine is a manager; 2 nodes, 1 manager)");
    assert.equal(
      describeTarget({ Swarm: { ...manager.Swarm, Nodes: 1, Managers: 3 } }),
      "swarm (this engine is a manager; 1 node, 3 managers)",
    );
    assert.equal(
      describeTarget(worker),
      "docker (this engine is a swarm worker: deploy through a manager)",
    );
    assert.equal(describeTarget(inactive), "docker (a single engine)");
  });
});
