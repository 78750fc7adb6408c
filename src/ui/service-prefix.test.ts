import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { servicePrefixes, wantsColor } from "./service-prefix.js";

describe("servicePrefixes", () => {
  it("pads every name to the longest, so lines start in one column", () => {
    const prefix = servicePrefixes(["api", "worker"], { color: false });
    assert.equal(prefix("api"), "api    | ");
    assert.equal(prefix("worker"), "worker | ");
  });

  it("gives each service its own colour, and none when colour is off", () => {
    const prefix = servicePrefixes(["api", "db"], { color: true });
    assert.notEqual(prefix("api").slice(0, 5), prefix("db").slice(0, 5));
    assert.ok(prefix("api").startsWith("\u001b["));
    assert.equal(wantsColor({ NO_COLOR: "1" }, { isTTY: true }), false);
    assert.equal(wantsColor({}, { isTTY: false }), false);
    assert.equal(wantsColor({}, { isTTY: true }), true);
  });
});
