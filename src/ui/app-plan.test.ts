import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Plan } from "../app/plan.js";
import type { ObservedService } from "../app/swarm-observe.js";
import type { SwarmPlan } from "../app/swarm-plan.js";
import { formatPlan, planEvent } from "./app-plan.js";

// The plan's text never reads what the swarm reported: any object stands for it.
const current = {} as ObservedService;

const swarmPlan: SwarmPlan = {
  target: "swarm",
  app: "shop",
  steps: [
    { action: "create", service: "migrate", kind: "job", reasons: ["new job"] },
    {
      action: "update",
      service: "api",
      kind: "service",
      reasons: ["env X changed", "replicas 1 → 2"],
      order: "start-first",
      rerun: false,
      current,
    },
    {
      action: "update",
      service: "db",
      kind: "service",
      reasons: ["image changed"],
      order: "stop-first",
      rerun: false,
      current,
    },
    {
      action: "update",
      service: "seed",
      kind: "job",
      reasons: ["its last run did not complete"],
      order: "start-first",
      rerun: true,
      current,
    },
    { action: "keep", service: "web", kind: "service", current },
    { action: "remove", service: "old", kind: "service", current },
  ],
  createNetwork: true,
  createSecrets: ["hln-shop-pw-0123456789ab"],
  notes: ["web: port 127.0.0.1:8080 is published on every address of every node"],
};

const where = { stack: "shop@1.0.0", endpoint: "ssh://deploy@manager" };

describe("formatPlan on a swarm", () => {
  it("shows the swarm, the overlay network, secrets, each step with its order and reasons, then the notes", () => {
    assert.equal(
      formatPlan(swarmPlan, where),
      [
        "plan for app shop (stack shop@1.0.0) on the swarm managed by ssh://deploy@manager:",
        "  + network hln-shop (overlay, every node)",
        "  + secret hln-shop-pw-0123456789ab",
        "  + migrate  run (new job)",
        "  ~ api      update start-first (env X changed, replicas 1 → 2)",
        "  ~ db       update stop-first (image changed)",
        "  ~ seed     run again (its last run did not complete)",
        "  = web      keep (unchanged)",
        "  - old      remove (no longer declared)",
        "  note: web: port 127.0.0.1:8080 is published on every address of every node",
        "",
      ].join("\n"),
    );
  });

  it("shows neither network nor secrets when they exist, and says when nothing is declared", () => {
    const text = formatPlan(
      { ...swarmPlan, steps: [], createNetwork: false, createSecrets: [], notes: [] },
      where,
    );
    assert.equal(
      text,
      "plan for app shop (stack shop@1.0.0) on the swarm managed by ssh://deploy@manager:\n  (the stack declares no services)\n",
    );
  });

  it("says nothing of a swarm for a single engine's plan", () => {
    const plan: Plan = {
      app: "shop",
      steps: [{ action: "create", service: "api", kind: "service", reasons: ["new service"] }],
      createNetwork: true,
      createVolumes: ["data"],
    };
    const text = formatPlan(plan, where);
    assert.ok(text.startsWith("plan for app shop (stack shop@1.0.0) on ssh://deploy@manager:\n"));
    assert.ok(text.includes("  + network hln-shop\n"));
    assert.ok(text.includes("  + volume hln-shop-data\n"));
    assert.ok(!/swarm|overlay|secret|note:/.test(text), text);
  });
});

describe("planEvent on a swarm", () => {
  it("carries the target, secrets, notes and each update's order", () => {
    const event = JSON.parse(planEvent(swarmPlan, "shop@1.0.0", "ssh://deploy@manager"));
    assert.equal(event.type, "plan");
    assert.equal(event.target, "swarm");
    assert.equal(event.network, "hln-shop");
    assert.deepEqual(event.volumes, []);
    assert.deepEqual(event.secrets, ["hln-shop-pw-0123456789ab"]);
    assert.deepEqual(event.notes, swarmPlan.notes);
    assert.deepEqual(event.steps, [
      { service: "migrate", kind: "job", action: "create", reasons: ["new job"] },
      {
        service: "api",
        kind: "service",
        action: "update",
        reasons: ["env X changed", "replicas 1 → 2"],
        order: "start-first",
      },
      {
        service: "db",
        kind: "service",
        action: "update",
        reasons: ["image changed"],
        order: "stop-first",
      },
      {
        service: "seed",
        kind: "job",
        action: "update",
        reasons: ["its last run did not complete"],
        order: "start-first",
      },
      { service: "web", kind: "service", action: "keep", reasons: [] },
      { service: "old", kind: "service", action: "remove", reasons: [] },
    ]);
    // What the swarm reported stays out of the event.
    assert.ok(!JSON.stringify(event).includes("current"));
  });

  it("says docker, and no secrets or notes, for a single engine's plan", () => {
    const plan: Plan = { app: "shop", steps: [], createNetwork: false, createVolumes: ["data"] };
    const event = JSON.parse(planEvent(plan, "shop@1.0.0", "unix:///var/run/docker.sock"));
    assert.equal(event.target, "docker");
    assert.deepEqual(event.volumes, ["hln-shop-data"]);
    assert.equal("secrets" in event, false);
    assert.equal("notes" in event, false);
  });
});
