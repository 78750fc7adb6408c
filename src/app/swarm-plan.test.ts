import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceDetails } from "../docker/services.js";
import { secretFromValue } from "../sdk/secret.js";
import type { DesiredService } from "./service-config.js";
import { type ObservedSwarmApp, observedService } from "./swarm-observe.js";
import {
  isSwarmNoop,
  planSwarmApp,
  type SwarmPlan,
  type SwarmStep,
  unplaceable,
} from "./swarm-plan.js";
import { secretName, serviceSpec } from "./swarm-spec.js";
import {
  dataVolume,
  desiredJob as job,
  loopbackPort as port,
  desiredService as service,
} from "./testdata/desired-service.js";

/** What a manager reports for a service hln made from `d` (as `GET /services?status=true`). */
function deployed(
  d: DesiredService,
  over: Partial<ServiceDetails> = {},
  mesh = true,
): ServiceDetails {
  const spec = serviceSpec("shop", d, {
    image: `10.201.0.1:5000/hln/shop/${d.spec.name}@sha256:aa`,
    network: "net-1",
    secretIds: new Map(),
    extraLabels: { "dev.hln.stack": "s@1" },
    mesh,
  });
  const replicas = d.spec.kind === "job" ? 1 : d.spec.replicas;
  return {
    ID: `id-${d.spec.name}`,
    Version: { Index: 7 },
    CreatedAt: "2026-12-02T10:00:00Z",
    UpdatedAt: "2026-12-02T10:00:00Z",
    Spec: spec,
    ServiceStatus: {
      RunningTasks: d.spec.kind === "job" ? 0 : replicas,
      DesiredTasks: d.spec.kind === "job" ? 0 : replicas,
      ...(d.spec.kind === "job" ? { CompletedTasks: 1 } : {}),
    },
    ...over,
  };
}

function observed(
  services: ServiceDetails[],
  secrets: string[] = [],
  network = true,
): ObservedSwarmApp {
  return {
    app: "shop",
    services: services.map(observedService),
    ...(network ? { network: { id: "net-1", name: "hln-shop" } } : {}),
    secrets: secrets.map((name, i) => ({ id: `sec-${i}`, name })),
  };
}

const opts = { nodes: 1, registry: true, mesh: true };

const summary = (plan: SwarmPlan) =>
  plan.steps.map((s: SwarmStep) =>
    s.action === "update"
      ? [s.action, s.service, s.reasons, s.order, s.rerun]
      : [s.action, s.service],
  );

describe("planSwarmApp", () => {
  it("creates every service of a new app, with its overlay network, each after what it depends on", () => {
    const web = service("web", { dependsOn: [{ name: "migrate", condition: "completed" }] });
    const migrate = job("migrate");
    const plan = planSwarmApp("shop", [web, migrate], observed([], [], false), opts);
    assert.deepEqual(summary(plan), [
      ["create", "migrate"],
      ["create", "web"],
    ]);
    assert.deepEqual(
      plan.steps.map((s) => s.action === "create" && s.reasons),
      [["new job"], ["new service"]],
    );
    assert.equal(plan.target, "swarm");
    assert.equal(plan.createNetwork, true);
    assert.equal(isSwarmNoop(plan), false);
  });

  it("keeps what matches its config hash: a no-op", () => {
    const api = service("api", { replicas: 2, ports: [port] });
    const migrate = job("migrate");
    const plan = planSwarmApp(
      "shop",
      [api, migrate],
      observed([deployed(api), deployed(migrate)]),
      opts,
    );
    assert.deepEqual(summary(plan), [
      ["keep", "api"],
      ["keep", "migrate"],
    ]);
    assert.equal(plan.createNetwork, false);
    assert.deepEqual(plan.createSecrets, []);
    assert.equal(isSwarmNoop(plan), true);
  });

  it("updates a changed service with the reasons read from its labels and its order", () => {
    const before = service("api", { env: { MODE: "a" }, replicas: 1 });
    const after = service("api", { env: { MODE: "b" }, replicas: 2 });
    const db = service("db", { volumes: [dataVolume] });
    const db2 = service("db", { volumes: [dataVolume], env: { X: "1" } });
    const plan = planSwarmApp(
      "shop",
      [after, db2],
      observed([deployed(before), deployed(db)]),
      opts,
    );
    assert.deepEqual(summary(plan), [
      ["update", "api", ["env MODE changed", "replicas 1 → 2"], "start-first", false],
      ["update", "db", ["env X added"], "stop-first", false],
    ]);
    const step = plan.steps[0];
    assert.equal(step?.action === "update" && step.current.id, "id-api");
    assert.equal(isSwarmNoop(plan), false);
  });

  it("updates a service stop-first without the mesh when it publishes a port", () => {
    const before = service("web", { ports: [port] });
    before.image = { id: "sha256:1", configDigest: "sha256:old" };
    const after = service("web", { ports: [port] });
    const plan = planSwarmApp("shop", [after], observed([deployed(before, {}, false)]), {
      ...opts,
      mesh: false,
    });
    assert.deepEqual(summary(plan), [["update", "web", ["image changed"], "stop-first", false]]);
  });

  it("reads a service without hln's config label as changed settings", () => {
    const api = service("api");
    const details = deployed(api);
    const labels = { ...details.Spec.Labels };
    delete labels["dev.hln.config"];
    labels["dev.hln.config-hash"] = "stale";
    const plan = planSwarmApp(
      "shop",
      [api],
      observed([{ ...details, Spec: { ...details.Spec, Labels: labels } }]),
      opts,
    );
    assert.deepEqual(summary(plan), [
      ["update", "api", ["settings changed"], "start-first", false],
    ]);
  });

  it("runs again, unchanged, a service whose last update paused, saying the swarm's message", () => {
    const api = service("api");
    const paused = deployed(api, {
      UpdateStatus: {
        State: "paused",
        Message: "update paused due to failure or early termination of task x",
      },
    });
    const plan = planSwarmApp("shop", [api], observed([paused]), opts);
    assert.deepEqual(summary(plan), [
      [
        "update",
        "api",
        ["its last update paused: update paused due to failure or early termination of task x"],
        "start-first",
        true,
      ],
    ]);
    const rollbackPaused = deployed(api, { UpdateStatus: { State: "rollback_paused" } });
    assert.deepEqual(summary(planSwarmApp("shop", [api], observed([rollbackPaused]), opts)), [
      ["update", "api", ["its last rollback paused"], "start-first", true],
    ]);
    // A finished update or rollback is nothing to redo.
    for (const State of ["completed", "rollback_completed"]) {
      const done = deployed(api, { UpdateStatus: { State } });
      assert.deepEqual(summary(planSwarmApp("shop", [api], observed([done]), opts)), [
        ["keep", "api"],
      ]);
    }
  });

  it("runs again a job whose last run did not complete, and keeps one that did", () => {
    const migrate = job("migrate");
    const failed = deployed(migrate, {
      ServiceStatus: { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 },
    });
    const plan = planSwarmApp("shop", [migrate], observed([failed]), opts);
    assert.equal(plan.steps[0]?.action, "update");
    assert.deepEqual(plan.steps[0]?.action === "update" && plan.steps[0].reasons, [
      "its last run did not complete",
    ]);
    assert.equal(plan.steps[0]?.action === "update" && plan.steps[0].rerun, true);
    assert.equal(plan.steps[0]?.kind, "job");
    const ok = planSwarmApp("shop", [migrate], observed([deployed(migrate)]), opts);
    assert.deepEqual(summary(ok), [["keep", "migrate"]]);
  });

  it("says when a service became a job", () => {
    const before = service("seed");
    const after = job("seed");
    const [step] = planSwarmApp("shop", [after], observed([deployed(before)]), opts).steps;
    assert.equal(step?.kind, "job");
    assert.deepEqual(step && "reasons" in step && step.reasons, ["was a service, now a job"]);
  });

  it("removes services no longer declared, by name, after the rest", () => {
    const api = service("api");
    const plan = planSwarmApp(
      "shop",
      [api],
      observed([deployed(service("zeta")), deployed(api), deployed(job("alpha"))]),
      opts,
    );
    assert.deepEqual(summary(plan), [
      ["keep", "api"],
      ["remove", "alpha"],
      ["remove", "zeta"],
    ]);
    assert.equal(plan.steps[1]?.kind, "job");
    assert.equal(isSwarmNoop(plan), false);
  });

  it("makes only the secrets that do not exist yet, each name once", () => {
    const pw = "/run/secrets/pw";
    const key = "/run/secrets/key";
    const api = service("api", {
      secrets: [
        { path: key, secret: secretFromValue("key", "k") },
        { path: pw, secret: secretFromValue("pw", "p") },
      ],
    });
    api.secretFingerprints = { [key]: "1111111111111111", [pw]: "2222222222222222" };
    // Another service reads the same value at the same path: one swarm secret serves both.
    const worker = service("worker", {
      secrets: [{ path: pw, secret: secretFromValue("pw", "p") }],
    });
    worker.secretFingerprints = { [pw]: "2222222222222222" };
    const existing = secretName("shop", pw, "2222222222222222");
    const plan = planSwarmApp("shop", [api, worker], observed([], [existing]), opts);
    assert.deepEqual(plan.createSecrets, [secretName("shop", key, "1111111111111111")]);
    assert.equal(isSwarmNoop(plan), false);
    // A new value of an existing secret is a new swarm secret.
    api.secretFingerprints[pw] = "3333333333333333";
    const next = planSwarmApp("shop", [api], observed([], [existing]), opts);
    assert.deepEqual(next.createSecrets, [
      secretName("shop", key, "1111111111111111"),
      secretName("shop", pw, "3333333333333333"),
    ]);
  });

  it("gives an app that declares nothing no network", () => {
    const plan = planSwarmApp("shop", [], observed([], [], false), opts);
    assert.equal(plan.createNetwork, false);
    assert.equal(isSwarmNoop(plan), true);
  });
});

describe("planSwarmApp notes", () => {
  const notesOf = (d: DesiredService[], o: Partial<typeof opts> = {}) =>
    planSwarmApp("shop", d, observed([]), { ...opts, ...o }).notes;

  it("says a port bound to one address is published on every address of every node", () => {
    const notes = notesOf([service("web", { ports: [port] })]);
    assert.deepEqual(notes, [
      "web: port 127.0.0.1:8080 is published on every address of every node (the swarm's routing mesh cannot bind one address)",
    ]);
    // A port on every address already says so.
    assert.deepEqual(notesOf([service("web", { ports: [{ ...port, ip: "0.0.0.0" }] })]), []);
  });

  it("without the mesh: on the task's node only, one task per node, stop-first", () => {
    const notes = notesOf([service("web", { ports: [port] })], { mesh: false });
    assert.deepEqual(notes, [
      "web: port 127.0.0.1:8080 is published on every address of the node that runs its task (a swarm cannot bind one address)",
      "web: without the routing mesh it runs at most one task per node, and updates stop the old task first (the port is the node's)",
    ]);
  });

  // With MaxReplicas 1 (a host-mode port), tasks beyond one per node stay pending, and the
  // wait for all of them to run never ends.
  it("refuses a service without the mesh that wants more tasks than there are nodes", () => {
    const web = service("web", { ports: [port], replicas: 3 });
    const [refused, ...rest] = unplaceable([web], { mesh: false, nodes: 2 });
    assert.match(refused ?? "", /^service web: 3 replicas publish port 8080 .* 2 nodes$/);
    assert.deepEqual(rest, []);
    assert.deepEqual(unplaceable([web], { mesh: true, nodes: 2 }), []);
    assert.deepEqual(unplaceable([web], { mesh: false, nodes: 3 }), []);
  });

  it("warns of volumes without placement on more than one node, not on one or with placement", () => {
    const db = service("db", { volumes: [dataVolume] });
    const placed = service("db", { volumes: [dataVolume], placement: ["node.hostname==a"] });
    const local =
      "db: its volumes are local to whichever node runs its task; give it a placement constraint";
    const has = (notes: string[]) => notes.some((n) => n.startsWith(local));
    assert.equal(has(notesOf([db], { nodes: 2 })), true);
    assert.equal(has(notesOf([db], { nodes: 1 })), false);
    assert.equal(has(notesOf([placed], { nodes: 2 })), false);
    assert.ok(
      notesOf([db]).includes("db: updates stop the old task first (it mounts an app volume)"),
    );
    // The stack chose an order: nothing to explain.
    const chosen = service("db", { volumes: [dataVolume], update: { order: "start-first" } });
    assert.ok(!notesOf([chosen]).some((n) => n.includes("updates stop the old task first")));
  });

  it("says bind mounts name paths on whichever node runs the task, on more than one node", () => {
    const bind = { path: "/x", source: { hostPath: "/srv/x" }, readOnly: true };
    const web = service("web", { volumes: [bind] });
    assert.deepEqual(notesOf([web], { nodes: 3 }), [
      "web: its bind mounts name paths on whichever node runs its task",
    ]);
    assert.deepEqual(notesOf([web], { nodes: 1 }), []);
  });

  it("says images stay on this node without a registry", () => {
    const notes = notesOf([service("api")], { registry: false });
    assert.equal(notes.length, 1);
    assert.match(
      notes[0] ?? "",
      /^no registry: images stay on this node, so tasks run only here \(.*registry.*\)$/,
    );
    assert.deepEqual(notesOf([service("api")]), []);
  });
});
