import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { solveRequest } from "./solve.js";

describe("solveRequest", () => {
  it("leaves the build out of the engine's build history unless asked to record it", () => {
    // The engine's history record of a 1,000-op graph took longer than the build and
    // could fail it; hln records nothing there by default.
    assert.equal(solveRequest({ sessionId: "s" }, "ref1").internal, true);
    assert.equal(solveRequest({ sessionId: "s", recordHistory: true }, "ref1").internal, false);
  });

  it("carries the ref, session and the first exporter in the legacy fields too", () => {
    const req = solveRequest(
      { sessionId: "s", exporters: [{ type: "moby", attrs: { name: "a", b: "1" } }] },
      "ref1",
    );
    assert.equal(req.ref, "ref1");
    assert.equal(req.session, "s");
    assert.equal(req.exporterDeprecated, "moby");
    assert.deepEqual(Object.keys(req.exporterAttrsDeprecated), ["b", "name"]);
    assert.equal(req.exporters[0]?.type, "moby");
  });
});
