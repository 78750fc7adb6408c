import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labels } from "./names.js";
import type { ObservedApp, ObservedContainer } from "./observe.js";
import { isNoop, planApp } from "./plan.js";
import {
  configHash,
  configParts,
  createBody,
  type DesiredService,
  publishedAddress,
} from "./service-config.js";
import { desiredService as service } from "./testdata/desired-service.js";

function running(d: DesiredService, over: Partial<ObservedContainer> = {}): ObservedContainer {
  const parts = configParts(d);
  return {
    id: `id-${d.spec.name}-${over.created ?? 1}`,
    name: `hln-shop-${d.spec.name}`,
    service: d.spec.name,
    kind: d.spec.kind,
    configHash: configHash(parts),
    labels: { [labels.config]: JSON.stringify(parts) },
    state: d.spec.kind === "job" ? "exited" : "running",
    ...(d.spec.kind === "job" ? { exitCode: 0 } : {}),
    imageId: d.image.id,
    image: d.image.id,
    ports: [],
    created: 1,
    ...over,
  };
}

function observed(containers: ObservedContainer[], volumes: string[] = []): ObservedApp {
  return {
    app: "shop",
    containers,
    network: { id: "n1", name: "hln-shop" },
    volumes: volumes.map((v) => ({ name: `hln-shop-${v}`, volume: v })),
  };
}

describe("planApp", () => {
  it("creates what does not run yet, with the network and volumes", () => {
    const plan = planApp(
      "shop",
      [service("db"), service("api")],
      { ...observed([]), network: undefined },
      ["data"],
    );
    assert.deepEqual(
      plan.steps.map((s) => [s.action, s.service]),
      [
        ["create", "db"],
        ["create", "api"],
      ],
    );
    assert.equal(plan.createNetwork, true);
    assert.deepEqual(plan.createVolumes, ["data"]);
    assert.equal(isNoop(plan), false);
  });

  it("keeps everything when nothing changed: a no-op", () => {
    const db = service("db");
    const migrate = service("migrate", { kind: "job", restart: "no" });
    const plan = planApp(
      "shop",
      [db, migrate],
      observed([running(db), running(migrate)], ["data"]),
      ["data"],
    );
    assert.deepEqual(
      plan.steps.map((s) => s.action),
      ["keep", "keep"],
    );
    assert.equal(isNoop(plan), true);
  });

  it("says which settings changed, secrets by path only", () => {
    const before = service("api", {
      env: { GREETING: "hello", MODE: "a" },
      secrets: [{ path: "/run/secrets/pw", secret: {} as never }],
    });
    before.secretFingerprints = { "/run/secrets/pw": "aaaa" };
    const after = service("api", {
      env: { GREETING: "bonjour", EXTRA: "1" },
      ports: [{ host: 8080, container: 80, ip: "127.0.0.1", protocol: "tcp" }],
    });
    after.image = { id: "sha256:new", configDigest: "sha256:config-new" };
    after.secretFingerprints = {};
    const [step] = planApp("shop", [after], observed([running(before)]), []).steps;
    assert.equal(step?.action, "recreate");
    assert.deepEqual(step?.action === "recreate" && step.reasons, [
      "image changed",
      "env EXTRA added",
      "env GREETING changed",
      "env MODE removed",
      "secret /run/secrets/pw removed",
      "ports changed",
    ]);
  });

  it("recreates a changed secret without showing its value anywhere", () => {
    const before = service("db");
    before.secretFingerprints = { "/run/secrets/pw": "fingerprint-1" };
    const after = service("db");
    after.secretFingerprints = { "/run/secrets/pw": "fingerprint-2" };
    const [step] = planApp("shop", [after], observed([running(before)]), []).steps;
    assert.deepEqual(step?.action === "recreate" && step.reasons, [
      "secret /run/secrets/pw changed",
    ]);
  });

  it("reruns a job whose last run failed, and restarts a service that exited", () => {
    const job = service("migrate", { kind: "job", restart: "no" });
    const web = service("web");
    const plan = planApp(
      "shop",
      [job, web],
      observed([running(job, { exitCode: 1 }), running(web, { state: "exited", exitCode: 137 })]),
      [],
    );
    assert.deepEqual(
      plan.steps.map((s) => (s.action === "recreate" ? s.reasons : s.action)),
      [["last run failed (exit 1)"], ["container exited (137)"]],
    );
  });

  it("removes services no longer declared, and leftovers of an interrupted run", () => {
    const api = service("api");
    const gone = service("old");
    const current = running(api, { created: 5 });
    const leftover = running(api, { created: 2, name: "hln-shop-api-old-123", state: "exited" });
    const plan = planApp("shop", [api], observed([current, leftover, running(gone)]), []);
    assert.deepEqual(
      plan.steps.map((s) => [s.action, s.service]),
      [
        ["keep", "api"],
        ["remove", "old"],
      ],
    );
    const keep = plan.steps[0];
    assert.deepEqual(keep?.action === "keep" && keep.extra.map((c) => c.name), [
      "hln-shop-api-old-123",
    ]);
    assert.equal(isNoop(plan), false);
  });

  it("lists each service after what it depends on, then as declared", () => {
    const web = service("web", { dependsOn: [{ name: "init", condition: "completed" }] });
    const init = service("init", { kind: "job", restart: "no" });
    const other = service("other");
    const plan = planApp("shop", [web, other, init], observed([]), []);
    assert.deepEqual(
      plan.steps.map((s) => s.service),
      ["init", "web", "other"],
    );
  });

  it("recreates a container that keeps restarting instead of calling it up to date", () => {
    const api = service("api");
    const [step] = planApp(
      "shop",
      [api],
      observed([running(api, { state: "restarting" })]),
      [],
    ).steps;
    assert.deepEqual(step?.action === "recreate" && step.reasons, ["container is restarting"]);
  });

  it("gives an app that declares nothing no network", () => {
    const plan = planApp("shop", [], { ...observed([]), network: undefined }, []);
    assert.equal(plan.createNetwork, false);
    assert.equal(isNoop(plan), true);
  });

  it("reads a container without hln's config label as changed settings", () => {
    const api = service("api");
    const [step] = planApp(
      "shop",
      [api],
      observed([running(api, { configHash: "x", labels: {} })]),
      [],
    ).steps;
    assert.deepEqual(step?.action === "recreate" && step.reasons, ["settings changed"]);
  });
});

interface CreateBody {
  Env: string[];
  Labels: Record<string, string>;
  Healthcheck: { Interval: number };
  HostConfig: { PortBindings: unknown; NetworkMode: string; Mounts: unknown[] };
  NetworkingConfig: { EndpointsConfig: Record<string, { Aliases: string[] }> };
}

describe("createBody", () => {
  it("publishes on the declared address, joins the app network by service name, keeps secrets out", () => {
    const d = service("web", {
      env: { A: "1" },
      ports: [{ host: 8080, container: 80, ip: "127.0.0.1", protocol: "tcp" }],
      volumes: [{ path: "/data", source: { volume: "data" }, readOnly: false }],
      healthcheck: { test: ["CMD", "true"], intervalMs: 1000, retries: 3 },
      secrets: [{ path: "/run/secrets/pw", secret: {} as never }],
    });
    d.secretFingerprints = { "/run/secrets/pw": "f00d" };
    const body = createBody("shop", d, { [labels.stack]: "s@1" }) as unknown as CreateBody;
    assert.deepEqual(body.HostConfig.PortBindings, {
      "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }],
    });
    assert.equal(body.HostConfig.NetworkMode, "hln-shop");
    assert.deepEqual(body.NetworkingConfig.EndpointsConfig["hln-shop"]?.Aliases, ["web"]);
    assert.deepEqual(body.HostConfig.Mounts[0], {
      Type: "volume",
      Source: "hln-shop-data",
      Target: "/data",
      ReadOnly: false,
    });
    assert.equal(body.Healthcheck.Interval, 1_000_000_000);
    assert.equal(body.Labels[labels.service], "web");
    assert.equal(body.Labels[labels.stack], "s@1");
    assert.deepEqual(body.Env, ["A=1"]);
  });

  it("shows HTTP ports as URLs", () => {
    assert.equal(
      publishedAddress({ ip: "127.0.0.1", host: 9090, container: 80, protocol: "tcp" }),
      "http://127.0.0.1:9090",
    );
    assert.equal(
      publishedAddress({ ip: "127.0.0.1", host: 5432, container: 5432, protocol: "tcp" }),
      "127.0.0.1:5432/tcp",
    );
  });
});
