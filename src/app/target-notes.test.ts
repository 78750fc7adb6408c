import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Container } from "../sdk/container.js";
import { createAppRecorder } from "../stack/app-spec.js";
import { singleEngineWarnings } from "./target-notes.js";

// Declaring never looks inside the Container: any instance stands for an image to build.
const image = Object.create(Container.prototype) as Container;

describe("singleEngineWarnings", () => {
  it("names, per service, each swarm setting a single engine ignores", () => {
    const { app, spec } = createAppRecorder();
    app.service("api", image, {
      replicas: 2,
      update: { order: "start-first" },
      placement: ["node.role == manager"],
    });
    app.service("web", image, { replicas: 3 });
    app.service("cache", image, { update: {}, placement: ["node.labels.ssd == yes"] });
    app.service("db", image, { replicas: 1 });
    app.job("migrate", image, { placement: ["node.hostname == a"] });
    app.service("plain", image);
    assert.deepEqual(singleEngineWarnings(spec().services), [
      "service api: replicas 2, update and placement are ignored on a single Docker engine (it runs one container per service); they apply on a swarm",
      "service web: replicas 3 is ignored on a single Docker engine (it runs one container per service); it applies on a swarm",
      "service cache: update and placement are ignored on a single Docker engine (it runs one container per service); they apply on a swarm",
      "job migrate: placement is ignored on a single Docker engine (it runs one container per service); it applies on a swarm",
    ]);
  });

  it("says nothing when a stack sets none of them", () => {
    const { app, spec } = createAppRecorder();
    app.service("api", image, { env: { A: "1" } });
    app.job("migrate", image);
    assert.deepEqual(singleEngineWarnings(spec().services), []);
    assert.deepEqual(singleEngineWarnings([]), []);
  });
});
