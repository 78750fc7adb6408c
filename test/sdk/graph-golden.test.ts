/**
 * Engine-free golden tests of graph building: each chain in testdata/graph-cases.ts must
 * still compile to the Definition recorded in testdata/graph/<case>.json (ops, digests,
 * metadata), built on a solver stand-in that answers only what graph building asks.
 * After a deliberate change: npx tsx test/sdk/testdata/regenerate-graph.ts, and review.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compiled, graphCases, secretValue } from "./testdata/graph-cases.js";
import { graphKit, renderGraph } from "./testdata/graph-kit.js";

const golden = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./testdata/graph/${name}.json`, import.meta.url), "utf8"));

/** The forms a value could take in text or bytes: as is, base64, base64url, hex. */
function forms(value: string): string[] {
  const b = Buffer.from(value);
  return [value, b.toString("base64"), b.toString("base64url"), b.toString("hex")];
}

/** Where `value` shows in the rendered graph or its wire bytes, in any of its forms. */
function leaks(value: string, text: string, wire: Buffer): string[] {
  const found: string[] = [];
  for (const form of forms(value)) {
    if (text.includes(form)) found.push(`graph: ${form}`);
    if (wire.includes(Buffer.from(form))) found.push(`wire: ${form}`);
  }
  // Split across lines or ops: no run of its bytes as long as half of it either.
  const half = value.slice(0, Math.ceil(value.length / 2));
  if (wire.includes(Buffer.from(half))) found.push(`wire: ${half}`);
  return found;
}

describe("graph building, no engine", () => {
  for (const [name, c] of Object.entries(graphCases)) {
    it(name, () => {
      const built = c.build(graphKit());
      const { output, path } = compiled(built.result);
      const { golden: actual, wire } = renderGraph(output, path);
      assert.deepEqual({ chain: c.chain, ...actual }, golden(name));
      for (const value of built.secretValues ?? [])
        assert.deepEqual(leaks(value, JSON.stringify(actual), wire), [], name);
    });
  }

  it("secrets appear by name only: every secret mount and variable names its id", () => {
    const ops = JSON.stringify(golden("exec-secrets"));
    assert.match(ops, /"secretOpt":\{"id":"npmrc"/);
    assert.match(ops, /"secretenv":\[\{"id":"token","name":"TOKEN"\}\]/);
    // The plain variable it replaced is gone from the step's environment.
    assert.ok(!JSON.stringify(golden("exec-secret-replaces-env")).includes("PASSWORD=plain"));
  });

  it("the leak check finds a value put in a plain variable or a file", () => {
    const k = graphKit();
    const ctr = k.container().from("busybox").withEnvVariable("TOKEN", secretValue);
    for (const dir of [
      ctr.withExec(["true"]).directory("/"),
      k.directory().withNewFile("token", `x\n${secretValue}\n`),
    ]) {
      const { golden: g, wire } = renderGraph(compiled(dir).output);
      assert.ok(leaks(secretValue, JSON.stringify(g), wire).length > 0);
    }
  });

  it("the same chain built twice, on two stand-ins, gives the same digests", () => {
    const c = graphCases["exec-cache-volumes"]!;
    const once = renderGraph(compiled(c.build(graphKit()).result).output).golden.terminal;
    const twice = renderGraph(compiled(c.build(graphKit()).result).output).golden.terminal;
    assert.equal(once, twice);
  });

  it("a step that needs the engine says so instead of building on nothing", async () => {
    const ctr = graphKit().container().from("busybox").withExec(["true"]);
    await assert.rejects(ctr.stdout(), /graph building asked the solver for readFile/);
  });
});
