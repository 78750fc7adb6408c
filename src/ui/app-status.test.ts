import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAgo, formatAppListing, formatAppStatus } from "./app-status.js";

describe("formatAppStatus", () => {
  it("marks a failed service in red on a terminal, and in a line of its own in any case", () => {
    const status = {
      app: "shop",
      services: [
        {
          service: "api",
          kind: "service" as const,
          state: "running",
          ok: true,
          image: "i",
          ports: [],
        },
        {
          service: "migrate",
          kind: "job" as const,
          state: "failed (exit 1)",
          ok: false,
          image: "i",
          ports: [],
        },
      ],
    };
    const plain = formatAppStatus(status, { width: 100, now: 0, color: false });
    assert.match(plain, /\n1 of 2 not ok: migrate \(failed \(exit 1\)\)\n$/);
    const red = formatAppStatus(status, { width: 100, now: 0, color: true });
    const migrate = red.split("\n").find((l) => l.startsWith("migrate"));
    assert.ok(
      migrate?.endsWith("job      \u001b[31mfailed (exit 1)\u001b[39m  i      -      -"),
      migrate,
    );
  });
});

describe("formatAppStatus on a swarm", () => {
  it("shows tasks running of those wanted, the update state, and each task under its service", () => {
    const now = Date.parse("2026-12-02T10:10:00Z");
    const text = formatAppStatus(
      {
        app: "shop",
        target: "swarm",
        services: [
          {
            service: "api",
            kind: "service",
            state: "restarting",
            ok: false,
            image: "r/hln/shop/api@sha256:aa",
            ports: [],
            replicas: { running: 1, desired: 2 },
            update: "rolled back: rollback completed",
            tasks: [
              {
                task: "api.1",
                node: "node-a",
                state: "running",
                desired: "running",
                health: "healthy",
                since: "2026-12-02T10:05:00Z",
                ok: true,
              },
              {
                task: "api.2",
                node: "node-b",
                state: "failed",
                desired: "shutdown",
                message: "task: non-zero exit (3)",
                exitCode: 3,
                since: "2026-12-02T10:09:50Z",
                ok: false,
              },
            ],
          },
        ],
        lastDeploy: { at: "2026-12-02T10:00:00.000Z", result: "ok", action: "rollback" },
      },
      { width: 120, now, color: false },
    );
    assert.equal(
      text,
      [
        "app shop",
        "SERVICE  KIND     STATE       TASKS  IMAGE                     PORTS  SINCE",
        "api      service  restarting  1/2    r/hln/shop/api@sha256:aa  -      -",
        "  update: rolled back: rollback completed",
        "  api.1  node-a  running (healthy)  5m ago",
        "  api.2  node-b  failed (exit 3)    10s ago  task: non-zero exit (3)",
        "last deploy: 2026-12-02T10:00:00.000Z ok (rollback)",
        "1 of 1 not ok: api (restarting)",
        "",
      ].join("\n"),
    );
  });
});

describe("formatAppListing", () => {
  it("says so when there are no apps", () => {
    assert.equal(formatAppListing([], 80), "no apps\n");
  });
});

describe("formatAgo", () => {
  it("is coarse, as docker ps is", () => {
    assert.deepEqual([1_000, 300_000, 7_200_000, 172_800_000, -5].map(formatAgo), [
      "1s ago",
      "5m ago",
      "2h ago",
      "2d ago",
      "0s ago",
    ]);
  });
});
