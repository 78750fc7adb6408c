import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toPrintable } from "../stack/printable.js";
import { formatData } from "./output.js";

function refused(value: unknown): string {
  try {
    toPrintable(value);
  } catch (err) {
    assert.equal((err as { code?: string }).code, "E_STACK_ACTION");
    return (err as Error).message;
  }
  assert.fail("printed");
}

describe("toPrintable", () => {
  it("keeps plain data as it is", () => {
    const data = { a: 1, b: ["x", true, null], c: { d: "e" }, "odd key": 2 };
    assert.deepEqual(toPrintable(data), data);
    assert.equal(toPrintable(undefined), undefined);
  });

  it("names the path of a value that cannot print", () => {
    assert.equal(
      refused({ items: [1, 2, () => 3] }),
      "result.items[2]: a function cannot be printed",
    );
    assert.equal(refused({ s: Symbol("x") }), "result.s: a symbol cannot be printed");
    assert.equal(refused({ "a b": [Number.NaN] }), 'result["a b"][0]: NaN cannot be printed');
    assert.equal(refused([Infinity]), "result[0]: Infinity cannot be printed");
    class Container {}
    assert.equal(refused({ c: new Container() }), "result.c: a Container cannot be printed");
    assert.equal(refused({ p: Promise.resolve(1) }), "result.p: a Promise cannot be printed");
    assert.equal(
      refused(new Map([[{}, "x"]])),
      "result: a Map with an object key cannot be printed",
    );
    assert.equal(refused({ e: new Error("x") }), "result.e: an Error cannot be printed");
    assert.deepEqual(
      toPrintable(
        new Map<unknown, number>([
          [1, 2],
          [true, 3],
        ]),
      ),
      { "1": 2, true: 3 },
    );
  });

  it("refuses a circular reference, but prints a shared one twice", () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    assert.equal(
      refused({ items: [1, o] }),
      "result.items[1].self: a circular reference (to result.items[1]) cannot be printed",
    );
    const shared = { x: 1 };
    assert.deepEqual(toPrintable([shared, shared]), [{ x: 1 }, { x: 1 }]);
    // Fresh objects: YAML writes no anchors and aliases for them.
    assert.equal(
      formatData(toPrintable({ a: shared, b: shared }), "yaml"),
      "a:\n  x: 1\nb:\n  x: 1\n",
    );
  });

  it("turns Maps into objects, Sets into lists, and uses toJSON", () => {
    assert.deepEqual(toPrintable({ m: new Map([["k", new Set([1, 2])]]) }), { m: { k: [1, 2] } });
    assert.deepEqual(toPrintable({ d: new Date(0) }), { d: "1970-01-01T00:00:00.000Z" });
    assert.deepEqual(toPrintable({ u: undefined, l: [undefined] }), { l: [null] });
    assert.deepEqual(Object.keys(toPrintable(JSON.parse('{"__proto__": 1}')) as object), [
      "__proto__",
    ]);
  });

  it("prints a BigInt as the integer it is, in JSON and YAML", () => {
    const big = toPrintable({ n: 12345678901234567890n });
    assert.equal(formatData(big, "json"), '{\n  "n": 12345678901234567890\n}\n');
    assert.equal(formatData(big, "yaml"), "n: 12345678901234567890\n");
  });
});

describe("formatData as JSON", () => {
  it("writes what JSON.stringify writes for plain data", () => {
    for (const v of [
      { a: [1, { b: "c\n" }, [], {}], e: null, f: -0, g: "é\u2028" },
      [],
      "s",
      1.5,
      true,
      null,
    ])
      assert.equal(formatData(v, "json"), `${JSON.stringify(v, null, 2)}\n`);
  });
});
