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
