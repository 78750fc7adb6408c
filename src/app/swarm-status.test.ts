import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceDetails } from "../docker/services.js";
import type { TaskDetails } from "../docker/tasks.js";
import {
  currentTasks,
  nodeNames,
  swarmServiceStatus,
  taskStatus,
  updateState,
} from "./swarm-status.js";

const hostnames = new Map([
  ["n1", "node-a"],
  ["n2", "node-b"],
]);

function service(over: Partial<ServiceDetails> = {}, healthcheck = false): ServiceDetails {
  return {
    ID: "s1",
    Version: { Index: 10 },
    CreatedAt: "2026-12-02T10:00:00Z",
    UpdatedAt: "2026-12-02T10:00:00Z",
    Spec: {
      Name: "hln-shop-api",
      Labels: { "dev.hln.app": "shop", "dev.hln.service": "api", "dev.hln.kind": "service" },
      TaskTemplate: {
        ContainerSpec: {
          Image: "10.201.0.1:5000/hln/shop/api@sha256:aa",
          ...(healthcheck ? { Healthcheck: { Test: ["CMD", "true"] } } : {}),
        },
      },
      Mode: { Replicated: { Replicas: 2 } },
    },
    ...over,
  };
}

let clock = 0;
function task(
  slot: number,
  node: string,
  state: string,
  over: Partial<TaskDetails> = {},
): TaskDetails {
  clock += 1;
  const at = new Date(Date.UTC(2026, 11, 2, 10, 0, clock)).toISOString();
  return {
    ID: `t${clock}`,
    ServiceID: "s1",
    NodeID: node,
    Slot: slot,
    CreatedAt: at,
    UpdatedAt: at,
    Version: { Index: 10 },
    Spec: {},
    DesiredState: "running",
    Status: { State: state, Timestamp: at },
    ...over,
  };
}

describe("swarm status", () => {
  it("shows each slot's newest task, on its node's hostname", () => {
    const old = task(1, "n1", "failed", {
      DesiredState: "shutdown",
      Status: { State: "failed", Err: "task: non-zero exit (1)", ContainerStatus: { ExitCode: 1 } },
    });
    const now1 = task(1, "n1", "running");
    const now2 = task(2, "n2", "running");
    const current = currentTasks([old, now2, now1]);
    assert.deepEqual(
      current.map((c) => [c.task.ID, c.history.map((h) => h.ID)]),
      [
        [now1.ID, [old.ID]],
        [now2.ID, []],
      ],
    );
    const s = swarmServiceStatus(service({}, true), [old, now1, now2], hostnames);
    assert.equal(s.state, "running (healthy)");
    assert.equal(s.ok, true);
    assert.deepEqual(s.replicas, { running: 2, desired: 2 });
    assert.deepEqual(
      s.tasks?.map((t) => [t.task, t.node, t.state, t.health]),
      [
        ["api.1", "node-a", "running", "healthy"],
        ["api.2", "node-b", "running", "healthy"],
      ],
    );
  });

  it("calls a slot that starts again after a failure restarting, with swarm's error on the failed task", () => {
    const failed = task(1, "n1", "failed", {
      DesiredState: "shutdown",
      Status: { State: "failed", Err: "task: non-zero exit (3)", ContainerStatus: { ExitCode: 3 } },
    });
    const again = task(1, "n1", "starting");
    const other = task(2, "n2", "running");
    const s = swarmServiceStatus(service(), [failed, again, other], hostnames);
    assert.equal(s.state, "restarting");
    assert.equal(s.ok, false);
    assert.deepEqual(s.replicas, { running: 1, desired: 2 });
    const shown = taskStatus("api", failed, hostnames, false);
    assert.equal(shown.message, "task: non-zero exit (3)");
    assert.equal(shown.exitCode, 3);
    assert.equal(shown.ok, false);
  });

  it("leaves out tasks swarm removed when it scaled the service down", () => {
    const gone = task(3, "n2", "shutdown", { DesiredState: "remove" });
    const a = task(1, "n1", "running");
    const b = task(2, "n2", "running");
    assert.deepEqual(
      currentTasks([gone, a, b]).map((c) => c.task.Slot),
      [1, 2],
    );
  });

  it("says where the last update stands, and a paused one is not ok", () => {
    const rolled = service({
      UpdateStatus: { State: "rollback_completed", Message: "rollback completed" },
    });
    assert.deepEqual(updateState(rolled), { text: "rolled back: rollback completed", ok: true });
    const paused = service({
      UpdateStatus: { State: "paused", Message: "update paused due to failure" },
    });
    const s = swarmServiceStatus(
      paused,
      [task(1, "n1", "running"), task(2, "n2", "running")],
      hostnames,
    );
    assert.equal(s.update, "update paused: update paused due to failure");
    assert.equal(s.ok, false);
    assert.equal(updateState(service({ UpdateStatus: { State: "completed" } })), undefined);
  });

  it("reads a job from its tasks: completed, or failed with the exit code", () => {
    const job = service({
      Spec: {
        ...service().Spec,
        Labels: { "dev.hln.service": "migrate", "dev.hln.kind": "job" },
        Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      },
    });
    const done = task(1, "n2", "complete", {
      DesiredState: "complete",
      Status: { State: "complete", ContainerStatus: { ExitCode: 0 } },
    });
    const ok = swarmServiceStatus(job, [done], hostnames);
    assert.deepEqual(
      [ok.kind, ok.state, ok.ok, ok.replicas],
      ["job", "completed", true, { running: 1, desired: 1 }],
    );
    const failed = task(1, "n2", "failed", {
      DesiredState: "complete",
      Status: { State: "failed", Err: "task: non-zero exit (4)", ContainerStatus: { ExitCode: 4 } },
    });
    const bad = swarmServiceStatus(job, [failed], hostnames);
    assert.deepEqual([bad.state, bad.ok], ["failed (exit 4)", false]);
  });

  it("shows published ports as addresses", () => {
    const s = swarmServiceStatus(
      service({
        Endpoint: {
          Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" }],
        },
      }),
      [],
      hostnames,
    );
    assert.deepEqual(s.ports, ["http://127.0.0.1:8080"]);
    assert.equal(s.state, "starting");
  });
});

describe("swarm status of a job", () => {
  it("reads only the current run's tasks, which have no slot", () => {
    const job = service({
      Spec: {
        ...service().Spec,
        Labels: { "dev.hln.service": "migrate", "dev.hln.kind": "job" },
        Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      },
      JobStatus: { JobIteration: { Index: 1 } },
    });
    const earlier = task(0, "n1", "failed", {
      Slot: undefined,
      DesiredState: "complete",
      Status: { State: "failed", ContainerStatus: { ExitCode: 1 } },
    });
    const now = task(0, "n2", "complete", {
      Slot: undefined,
      JobIteration: { Index: 1 },
      DesiredState: "complete",
      Status: { State: "complete", ContainerStatus: { ExitCode: 0 } },
    });
    const s = swarmServiceStatus(job, [earlier, now], hostnames);
    assert.deepEqual(
      [s.state, s.ok, s.tasks?.map((t) => t.task)],
      ["completed", true, ["migrate@node-b"]],
    );
  });
});

describe("node names", () => {
  it("are hostnames, with the start of the ID where two nodes share one", () => {
    const names = nodeNames([
      { ID: "oxq725yi3e47", Description: { Hostname: "vm" } },
      { ID: "sqvo2sonkrgd", Description: { Hostname: "vm" } },
      { ID: "abcdef123456", Description: { Hostname: "node-c" } },
      { ID: "0123456789abcdef" },
    ]);
    assert.deepEqual([...names.values()], ["vm(oxq725)", "vm(sqvo2s)", "node-c", "0123456789ab"]);
  });
});
