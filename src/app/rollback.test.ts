import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceDetails, ServiceSpec } from "../docker/services.js";
import { cannotRollBack, rollbackReasons } from "./rollback.js";
import type { ConfigParts } from "./service-config.js";
import { observedService } from "./swarm-observe.js";
import { sampleParts } from "./testdata/config-parts.js";

function spec(p: ConfigParts | undefined, kind = "service"): ServiceSpec {
  return {
    Name: "hln-shop-api",
    Labels: {
      "dev.hln.app": "shop",
      "dev.hln.service": "api",
      "dev.hln.kind": kind,
      ...(p ? { "dev.hln.config": JSON.stringify(p) } : {}),
    },
    TaskTemplate: { ContainerSpec: { Image: "r/hln/shop/api@sha256:aa" } },
    Mode:
      kind === "job"
        ? { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } }
        : { Replicated: { Replicas: 1 } },
  };
}

function details(over: Partial<ServiceDetails>): ServiceDetails {
  return {
    ID: "s1",
    Version: { Index: 5 },
    CreatedAt: "2026-12-02T10:00:00Z",
    UpdatedAt: "2026-12-02T10:00:00Z",
    Spec: spec(sampleParts()),
    ...over,
  };
}

describe("rollback", () => {
  it("says what going back to the previous spec changes", () => {
    const s = details({
      Spec: spec(sampleParts({ env: { GREETING: "d2" }, image: "sha256:bb" })),
      PreviousSpec: spec(sampleParts({ env: { GREETING: "d1", EXTRA: "x" } })),
    });
    assert.deepEqual(rollbackReasons(s), [
      "image changed",
      "env EXTRA added",
      "env GREETING changed",
    ]);
  });

  it("says settings changed when a spec carries no config label", () => {
    assert.deepEqual(rollbackReasons(details({ PreviousSpec: spec(undefined) })), [
      "settings changed",
    ]);
  });

  it("leaves alone a service never updated, one already rolled back, and jobs", () => {
    const never = observedService(details({}));
    assert.match(cannotRollBack(never) ?? "", /no previous spec/);
    const rolled = observedService(
      details({
        PreviousSpec: spec(sampleParts()),
        UpdateStatus: { State: "rollback_completed", Message: "rollback completed" },
      }),
    );
    assert.match(cannotRollBack(rolled) ?? "", /^already rolled back \(rollback completed\)/);
    const job = observedService(
      details({ Spec: spec(sampleParts(), "job"), PreviousSpec: spec(sampleParts(), "job") }),
    );
    assert.match(cannotRollBack(job) ?? "", /a job/);
    const updated = observedService(
      details({ PreviousSpec: spec(sampleParts()), UpdateStatus: { State: "completed" } }),
    );
    assert.equal(cannotRollBack(updated), undefined);
  });
});
