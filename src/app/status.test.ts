import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerSummary } from "../docker/containers.js";
import { observedContainer } from "./observe.js";
import { currentContainers, portAddresses, serviceStatus } from "./status.js";

function summary(over: Partial<ContainerSummary>): ContainerSummary {
  return {
    Id: "c1",
    Names: ["/hln-shop-api"],
    Image: "hln/shop/api:0123456789ab",
    ImageID: "sha256:aa",
    Created: 100,
    Labels: { "dev.hln.app": "shop", "dev.hln.service": "api", "dev.hln.kind": "service" },
    State: "running",
    Status: "Up 3 minutes",
    Ports: [],
    ...over,
  };
}

describe("observedContainer", () => {
  it("reads health and exit code from Docker's Status text", () => {
    assert.equal(
      observedContainer(summary({ Status: "Up 3 minutes (healthy)" })).health,
      "healthy",
    );
    assert.equal(
      observedContainer(summary({ Status: "Up 1 second (health: starting)" })).health,
      "starting",
    );
    assert.equal(
      observedContainer(summary({ Status: "Up 2 hours (unhealthy)" })).health,
      "unhealthy",
    );
    assert.equal(observedContainer(summary({})).health, undefined);
    const exited = observedContainer(
      summary({ State: "exited", Status: "Exited (137) 5 seconds ago" }),
    );
    assert.equal(exited.exitCode, 137);
    assert.equal(exited.name, "hln-shop-api");
  });

  it("keeps published ports only", () => {
    const c = observedContainer(
      summary({
        Ports: [
          { PrivatePort: 80, Type: "tcp" },
          { IP: "127.0.0.1", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
        ],
      }),
    );
    assert.deepEqual(c.ports, [{ ip: "127.0.0.1", host: 8080, container: 80, protocol: "tcp" }]);
  });
});

describe("serviceStatus", () => {
  const state = (over: Partial<ContainerSummary>, kind = "service") =>
    serviceStatus(
      observedContainer(
        summary({ ...over, Labels: { "dev.hln.service": "x", "dev.hln.kind": kind } }),
      ),
    );

  it("tells people what each Docker state means for a service or a job", () => {
    const table: [Partial<ContainerSummary>, string, string, boolean][] = [
      [{ Status: "Up 1 second" }, "service", "running", true],
      [{ Status: "Up 1 second (healthy)" }, "service", "running (healthy)", true],
      [{ Status: "Up 1 second (health: starting)" }, "service", "starting", true],
      [{ Status: "Up 1 second (unhealthy)" }, "service", "unhealthy", false],
      [{ State: "exited", Status: "Exited (0) 1 second ago" }, "job", "completed", true],
      [{ State: "exited", Status: "Exited (1) 1 second ago" }, "job", "failed (exit 1)", false],
      [{ State: "exited", Status: "Exited (2) 1 second ago" }, "service", "failed (exit 2)", false],
      [
        { State: "exited", Status: "Exited (0) 1 second ago" },
        "service",
        "stopped (exit 0)",
        false,
      ],
      [{ State: "created", Status: "Created" }, "service", "not started", false],
      [
        { State: "restarting", Status: "Restarting (1) 1 second ago" },
        "service",
        "restarting",
        false,
      ],
      [{ State: "dead", Status: "Dead" }, "service", "dead", false],
    ];
    for (const [over, kind, shown, ok] of table)
      assert.deepEqual(
        [state(over, kind).state, state(over, kind).ok],
        [shown, ok],
        JSON.stringify(over),
      );
  });
});

describe("portAddresses", () => {
  it("gives HTTP ports as URLs, others as ip:port/protocol, and all-address bindings once", () => {
    assert.deepEqual(
      portAddresses([
        { ip: "0.0.0.0", host: 8080, container: 80, protocol: "tcp" },
        { ip: "::", host: 8080, container: 80, protocol: "tcp" },
        { ip: "127.0.0.1", host: 5432, container: 5432, protocol: "tcp" },
        { ip: "127.0.0.1", host: 8443, container: 443, protocol: "tcp" },
        { ip: "::1", host: 53, container: 53, protocol: "udp" },
      ]),
      ["http://127.0.0.1:8080", "127.0.0.1:5432/tcp", "https://127.0.0.1:8443", "[::1]:53/udp"],
    );
  });
});

describe("currentContainers", () => {
  it("takes the newest container of each service, as a recreate leaves an old one for a moment", () => {
    const old = observedContainer(summary({ Id: "old", Created: 1 }));
    const now = observedContainer(summary({ Id: "new", Created: 2 }));
    assert.deepEqual(
      currentContainers([old, now]).map((c) => c.id),
      ["new"],
    );
  });
});
