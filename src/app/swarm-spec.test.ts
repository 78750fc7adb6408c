import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ServiceSpec } from "../docker/services.js";
import { secretFromValue } from "../sdk/secret.js";
import { labels } from "./names.js";
import {
  changedParts,
  configHash,
  configParts,
  type DesiredService,
  readConfigParts,
} from "./service-config.js";
import {
  monitorMs,
  secretName,
  secretsOf,
  serviceSpec,
  swarmConfigParts,
  updateConfig,
  updateOrder,
} from "./swarm-spec.js";
import {
  dataVolume,
  desiredJob as job,
  loopbackPort as port,
  desiredService as service,
} from "./testdata/desired-service.js";

function specOf(d: DesiredService, mesh = true, app = "shop"): ServiceSpec {
  return serviceSpec(app, d, {
    image: "10.201.0.1:5000/hln/shop/x@sha256:abc",
    network: "net-id",
    secretIds: new Map(),
    extraLabels: { [labels.stack]: "s@1" },
    mesh,
  });
}

/** Docker's rule for a secret's name (swarmkit controlapi), at most 64 characters. */
const dockerSecretName = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;

// A real fingerprint is 16 hex digits of HMAC-SHA256 (sdk/secret-fingerprint.ts).
const fp1 = "0123456789abcdef";
const fp2 = "fedcba9876543210";
const app40 = "a".repeat(20) + "-".repeat(1) + "b".repeat(19);

describe("secretName", () => {
  it("stays within 64 characters and Docker's name rule for a 40-character app and a long path", () => {
    assert.equal(app40.length, 40);
    const long = `/run/secrets/${"very-long-secret-file-name-".repeat(5)}pw`;
    const name = secretName(app40, long, fp1);
    assert.ok(name.length <= 64, `${name} has ${name.length} characters`);
    assert.match(name, dockerSecretName);
    assert.ok(name.startsWith(`hln-${app40}-`), name);
    assert.ok(name.endsWith(`-${fp1.slice(0, 12)}`), name);
  });

  it("ends with 12 hex digits of the fingerprint; a new value is a new name", () => {
    const a = secretName("shop", "/run/secrets/db_password", fp1);
    const b = secretName("shop", "/run/secrets/db_password", fp2);
    assert.equal(a, "hln-shop-db-password-0123456789ab");
    assert.equal(b, "hln-shop-db-password-fedcba987654");
    assert.notEqual(a, b);
  });

  it("slugs odd paths from their file name, lowercase, without leading or trailing dashes", () => {
    assert.equal(
      secretName("shop", "/run/secrets/My..Key__File!", fp1),
      "hln-shop-my-key-file-0123456789ab",
    );
    assert.equal(secretName("shop", "/etc/--pw--", fp1), "hln-shop-pw-0123456789ab");
    // Nothing usable in the file name: a word stands in for it.
    assert.equal(secretName("shop", "/run/secrets/___", fp1), "hln-shop-secret-0123456789ab");
    assert.equal(secretName("shop", "/run/secrets/ключ", fp1), "hln-shop-secret-0123456789ab");
    for (const path of ["/a/.env", "/x/Ω", "/run/secrets/a b c", "/p/-", "/p/a.b.c"])
      assert.match(secretName("shop", path, fp1), dockerSecretName, path);
  });

  it("never leaves a dash before the suffix when the cut falls on one", () => {
    // Cut at 64 - 13 = 51 characters: make the 51st a dash in the slug.
    for (let n = 1; n <= 30; n++) {
      const path = `/s/${"x".repeat(n)}-${"y".repeat(40)}`;
      const name = secretName(app40, path, fp1);
      assert.ok(name.length <= 64, name);
      assert.ok(!name.includes("--"), name);
      assert.match(name, dockerSecretName, name);
    }
  });

  it("keeps two secrets of one app apart when their file names differ", () => {
    assert.notEqual(
      secretName("shop", "/run/secrets/a", fp1),
      secretName("shop", "/run/secrets/b", fp1),
    );
  });
});

describe("secretsOf", () => {
  it("gives each secret file its name, path and fingerprint", () => {
    const d = service("api", {
      secrets: [
        { path: "/run/secrets/a", secret: secretFromValue("a", "x") },
        { path: "/run/secrets/b", secret: secretFromValue("b", "y") },
      ],
    });
    d.secretFingerprints = { "/run/secrets/a": fp1, "/run/secrets/b": fp2 };
    assert.deepEqual(secretsOf("shop", d), [
      { name: "hln-shop-a-0123456789ab", path: "/run/secrets/a", fingerprint: fp1 },
      { name: "hln-shop-b-fedcba987654", path: "/run/secrets/b", fingerprint: fp2 },
    ]);
  });
});

describe("updateOrder", () => {
  it("starts the new task first by default, with or without the mesh", () => {
    assert.equal(updateOrder(service("api"), true), "start-first");
    assert.equal(updateOrder(service("api"), false), "start-first");
    assert.equal(updateOrder(service("api", { ports: [port] }), true), "start-first");
  });

  it("stops first a service with an app volume, but not one with only a bind mount", () => {
    assert.equal(updateOrder(service("db", { volumes: [dataVolume] }), true), "stop-first");
    const bind = { path: "/x", source: { hostPath: "/srv/x" }, readOnly: true };
    assert.equal(updateOrder(service("web", { volumes: [bind] }), true), "start-first");
  });

  it("stops first without the mesh when the service publishes a port (the node holds it)", () => {
    assert.equal(updateOrder(service("web", { ports: [port] }), false), "stop-first");
  });

  it("lets the stack's order win", () => {
    const db = service("db", { volumes: [dataVolume], update: { order: "start-first" } });
    assert.equal(updateOrder(db, true), "start-first");
    const web = service("web", { update: { order: "stop-first" } });
    assert.equal(updateOrder(web, true), "stop-first");
  });
});

describe("updateConfig", () => {
  it("defaults to one at a time, no delay, rollback on failure, watching each task", () => {
    assert.deepEqual(updateConfig(service("api"), true), {
      Parallelism: 1,
      Delay: 0,
      FailureAction: "rollback",
      Monitor: monitorMs * 1_000_000,
      MaxFailureRatio: 0,
      Order: "start-first",
    });
  });

  it("takes the stack's settings, the delay in nanoseconds", () => {
    const d = service("api", {
      update: { parallelism: 2, delayMs: 1500, failureAction: "pause", order: "stop-first" },
    });
    const u = updateConfig(d, true);
    assert.equal(u.Parallelism, 2);
    assert.equal(u.Delay, 1_500_000_000);
    assert.equal(u.FailureAction, "pause");
    assert.equal(u.Order, "stop-first");
  });
});

describe("swarmConfigParts", () => {
  it("says replicas 1 → 2 when only the replicas changed, and the hash changes", () => {
    const one = swarmConfigParts(service("api", { replicas: 1 }), true);
    const two = swarmConfigParts(service("api", { replicas: 2 }), true);
    assert.notEqual(configHash(one), configHash(two));
    assert.deepEqual(changedParts(one, two), ["replicas 1 → 2"]);
  });

  it("says which swarm-only part changed: update settings, placement", () => {
    const before = swarmConfigParts(service("api"), true);
    const update = swarmConfigParts(service("api", { update: { parallelism: 3 } }), true);
    const placed = swarmConfigParts(service("api", { placement: ["node.role==manager"] }), true);
    assert.deepEqual(changedParts(before, update), ["update settings changed"]);
    assert.deepEqual(changedParts(before, placed), ["placement changed"]);
    assert.notEqual(configHash(before), configHash(update));
    assert.notEqual(configHash(before), configHash(placed));
  });

  it("leaves the single-engine parts and hash alone: replicas, update and placement are not in them", () => {
    const plain = service("api");
    const swarmy = service("api", {
      replicas: 3,
      update: { order: "stop-first", parallelism: 2 },
      placement: ["node.labels.ssd==yes"],
    });
    assert.deepEqual(configParts(swarmy), configParts(plain));
    assert.equal(configHash(configParts(swarmy)), configHash(configParts(plain)));
    // The swarm's parts are the engine's plus its own, equal where they overlap.
    const { replicas, update, placement, ...rest } = swarmConfigParts(swarmy, true);
    assert.deepEqual(rest, configParts(swarmy));
    assert.equal(replicas, "3");
    assert.ok(update && placement);
  });

  it("counts a job as one replica and gives it no update settings", () => {
    const a = swarmConfigParts(job("migrate", { replicas: 1 }), true);
    const b = swarmConfigParts(job("migrate", { replicas: 5 }), true);
    assert.equal(a.replicas, "1");
    assert.equal(configHash(a), configHash(b));
  });

  it("changes with the mesh, so switching to --no-mesh updates a service even without ports", () => {
    for (const d of [service("web", { ports: [port] }), service("worker")]) {
      const withMesh = swarmConfigParts(d, true);
      const without = swarmConfigParts(d, false);
      assert.notEqual(configHash(withMesh), configHash(without), d.spec.name);
      assert.ok(changedParts(withMesh, without).includes("ports changed"), d.spec.name);
    }
  });
});

describe("serviceSpec", () => {
  it("labels the service as a container is labelled, config read back equal to its parts", () => {
    const d = service("api", { env: { A: "1" } });
    const spec = specOf(d);
    const parts = swarmConfigParts(d, true);
    assert.equal(spec.Name, "hln-shop-api");
    assert.equal(spec.Labels?.[labels.app], "shop");
    assert.equal(spec.Labels?.[labels.service], "api");
    assert.equal(spec.Labels?.[labels.kind], "service");
    assert.equal(spec.Labels?.[labels.stack], "s@1");
    assert.equal(spec.Labels?.[labels.configHash], configHash(parts));
    assert.deepEqual(readConfigParts(spec.Labels?.[labels.config]), parts);
    // Task containers carry no dev.hln.* labels: single-engine code must not take them for its own.
    assert.equal(spec.TaskTemplate.ContainerSpec.Labels, undefined);
  });

  it("never carries a secret's value: only its path, swarm secret name and keyed fingerprint", () => {
    const value = randomBytes(24).toString("hex");
    const d = service("api", {
      secrets: [{ path: "/run/secrets/db_pw", secret: secretFromValue("db_pw", value) }],
    });
    d.secretFingerprints = { "/run/secrets/db_pw": fp1 };
    const name = secretName("shop", "/run/secrets/db_pw", fp1);
    const spec = serviceSpec("shop", d, {
      image: "img@sha256:abc",
      network: "net-id",
      secretIds: new Map([[name, "secret-id-1"]]),
      extraLabels: {},
      mesh: true,
    });
    const json = JSON.stringify(spec);
    assert.ok(!json.includes(value), "the secret's value is in the spec");
    assert.ok(!json.includes(value.slice(0, 16)), "part of the secret's value is in the spec");
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Secrets, [
      {
        File: { Name: "/run/secrets/db_pw", UID: "0", GID: "0", Mode: 0o444 },
        SecretID: "secret-id-1",
        SecretName: name,
      },
    ]);
    assert.ok(!(spec.TaskTemplate.ContainerSpec.Env ?? []).some((e) => e.includes(value)));
  });

  it("maps the entrypoint to Command and the command to Args, leaving out what is not given", () => {
    const both = specOf(service("api", { entrypoint: ["/bin/sh", "-c"], command: ["echo hi"] }));
    assert.deepEqual(both.TaskTemplate.ContainerSpec.Command, ["/bin/sh", "-c"]);
    assert.deepEqual(both.TaskTemplate.ContainerSpec.Args, ["echo hi"]);
    const onlyCommand = specOf(service("api", { command: ["serve"] }));
    assert.equal("Command" in onlyCommand.TaskTemplate.ContainerSpec, false);
    assert.deepEqual(onlyCommand.TaskTemplate.ContainerSpec.Args, ["serve"]);
    const neither = specOf(service("api"));
    assert.equal("Command" in neither.TaskTemplate.ContainerSpec, false);
    assert.equal("Args" in neither.TaskTemplate.ContainerSpec, false);
  });

  it("passes env, user and working directory, and the image it is given", () => {
    const spec = specOf(
      service("api", { env: { A: "1", B: "x=y" }, user: "1000", workdir: "/app" }),
    );
    const c = spec.TaskTemplate.ContainerSpec;
    assert.deepEqual(c.Env, ["A=1", "B=x=y"]);
    assert.equal(c.User, "1000");
    assert.equal(c.Dir, "/app");
    assert.equal(c.Image, "10.201.0.1:5000/hln/shop/x@sha256:abc");
  });

  it("makes a job a ReplicatedJob run once, never restarted, without update settings", () => {
    const spec = specOf(job("migrate"));
    assert.deepEqual(spec.Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: "none" });
    assert.equal(spec.UpdateConfig, undefined);
    assert.equal(spec.RollbackConfig, undefined);
    assert.equal(spec.Labels?.[labels.kind], "job");
  });

  it("replicates a service as declared, restarting it as its restart policy says", () => {
    const spec = specOf(service("api", { replicas: 3 }));
    assert.deepEqual(spec.Mode, { Replicated: { Replicas: 3 } });
    assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: "any" });
    assert.deepEqual(specOf(service("api", { restart: "on-failure" })).TaskTemplate.RestartPolicy, {
      Condition: "on-failure",
    });
    assert.deepEqual(specOf(service("api", { restart: "no" })).TaskTemplate.RestartPolicy, {
      Condition: "none",
    });
    assert.equal(spec.UpdateConfig?.FailureAction, "rollback");
    // A rollback that fails stops there rather than rolling back the rollback.
    assert.equal(spec.RollbackConfig?.FailureAction, "pause");
    assert.equal(spec.RollbackConfig?.Order, spec.UpdateConfig?.Order);
  });

  it("with the mesh: a virtual IP and ingress ports, no cap on tasks per node", () => {
    const spec = specOf(service("web", { ports: [port] }), true);
    assert.equal(spec.EndpointSpec?.Mode, "vip");
    assert.deepEqual(spec.EndpointSpec?.Ports, [
      { Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" },
    ]);
    assert.equal(spec.TaskTemplate.Placement?.MaxReplicas, undefined);
    assert.equal(spec.UpdateConfig?.Order, "start-first");
  });

  it("without the mesh: DNS round robin, ports on the task's node, one such task per node, stop-first", () => {
    const spec = specOf(service("web", { ports: [port], replicas: 2 }), false);
    assert.equal(spec.EndpointSpec?.Mode, "dnsrr");
    assert.deepEqual(spec.EndpointSpec?.Ports, [
      { Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "host" },
    ]);
    assert.equal(spec.TaskTemplate.Placement?.MaxReplicas, 1);
    assert.equal(spec.UpdateConfig?.Order, "stop-first");
    // A service without ports has nothing to hold on the node: no cap.
    const worker = specOf(service("worker"), false);
    assert.equal(worker.EndpointSpec?.Mode, "dnsrr");
    assert.equal(worker.TaskTemplate.Placement?.MaxReplicas, undefined);
  });

  it("passes placement constraints in the order given, and joins the app network by service name", () => {
    const spec = specOf(
      service("db", { placement: ["node.role==manager", "node.labels.ssd!=no"] }),
    );
    assert.deepEqual(spec.TaskTemplate.Placement?.Constraints, [
      "node.role==manager",
      "node.labels.ssd!=no",
    ]);
    assert.deepEqual(spec.TaskTemplate.Networks, [{ Target: "net-id", Aliases: ["db"] }]);
  });

  it("mounts app volumes by their hln name with labels for the volume each node creates", () => {
    const bind = { path: "/etc/x", source: { hostPath: "/srv/x" }, readOnly: true };
    const spec = specOf(service("db", { volumes: [dataVolume, bind] }));
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts, [
      {
        Type: "volume",
        Source: "hln-shop-data",
        Target: "/data",
        ReadOnly: false,
        VolumeOptions: { Labels: { [labels.app]: "shop", [labels.volume]: "data" } },
      },
      { Type: "bind", Source: "/srv/x", Target: "/etc/x", ReadOnly: true },
    ]);
    assert.equal(spec.UpdateConfig?.Order, "stop-first");
  });

  it("gives health check durations in nanoseconds, leaving out what is not set", () => {
    const spec = specOf(
      service("api", {
        healthcheck: {
          test: ["CMD", "true"],
          intervalMs: 2000,
          timeoutMs: 500,
          retries: 4,
          startPeriodMs: 10_000,
        },
      }),
    );
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Healthcheck, {
      Test: ["CMD", "true"],
      Interval: 2_000_000_000,
      Timeout: 500_000_000,
      Retries: 4,
      StartPeriod: 10_000_000_000,
    });
    const partial = specOf(service("api", { healthcheck: { test: ["CMD-SHELL", "true"] } }));
    assert.deepEqual(partial.TaskTemplate.ContainerSpec.Healthcheck, {
      Test: ["CMD-SHELL", "true"],
    });
    assert.equal(specOf(service("api")).TaskTemplate.ContainerSpec.Healthcheck, undefined);
  });

  it("labels the mesh setting into the hash, so a spec for the other mode is not kept", () => {
    const d = service("worker");
    assert.notEqual(
      specOf(d, true).Labels?.[labels.configHash],
      specOf(d, false).Labels?.[labels.configHash],
    );
  });
});
