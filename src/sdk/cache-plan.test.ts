import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { CachePlan } from "./cache-plan.js";

describe("CachePlan", () => {
  const registry = { type: "registry", attrs: { ref: "r.example/app:cache" } };

  it("refuses a cache export the classic store cannot make, with the remedy as data", async () => {
    const plan = new CachePlan({ exports: [registry] });
    const err = await plan.check("unix:///d.sock", async () => true).catch((e: unknown) => e);
    assert.ok(err instanceof HlnError);
    assert.equal(err.code, "E_ENGINE_CAPABILITY");
    assert.deepEqual(err.remedy, { lead: "or use", settings: ["cacheTo"], value: "type=inline" });
    // A library user reads no CLI flag; the CLI names --cache-to (cli/setting-words.ts).
    assert.doesNotMatch(`${err.message}\n${err.hint}`, /--[a-z]|HLN_/);
    assert.match(err.hint ?? "", /or use a cache export of type=inline$/);
  });

  it("asks the store only when a non-inline export needs it, and once", async () => {
    let asked = 0;
    const classic = async () => {
      asked++;
      return false;
    };
    await new CachePlan({ exports: [{ type: "inline" }] }).check("x", classic);
    assert.equal(asked, 0);
    const plan = new CachePlan({ exports: [registry] });
    await plan.check("x", classic);
    await plan.check("x", classic);
    assert.equal(asked, 1);
  });

  it("gives inline cache to image exports only", () => {
    const plan = new CachePlan({ exports: [{ type: "inline" }, registry] });
    assert.deepEqual(plan.inlineExports("moby"), [{ type: "inline" }]);
    assert.deepEqual(plan.inlineExports("local"), []);
    assert.deepEqual(plan.services(), []);
  });
});
