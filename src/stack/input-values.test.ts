/**
 * The types an action's `ctx.inputs` gets from its declarations. Checked by `tsc --noEmit`:
 * each `@ts-expect-error` fails the type check when the line under it stops being an error,
 * so a regression that widens a type to `any` or `unknown` shows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Secret } from "../sdk/secret.js";
import { defineStack, type InputValues } from "./define-stack.js";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

const stack = defineStack({
  name: "types",
  version: "0.1.0",
  inputs: {
    greeting: { type: "string", default: "hi" },
    legacy: { type: "string", choices: ["a", "b"] },
    port: { type: "number", default: 80 },
    fast: { type: "boolean" },
    size: { type: "enum", values: ["s", "m", "l"], default: "s" },
    data: { type: "path" },
    token: { type: "secret", env: "TOKEN" },
    optionalToken: { type: "secret", required: false },
    tags: { type: "list", default: ["web"] },
    note: { type: "string", required: false },
    keptNote: { type: "string", required: false, default: "n" },
  },
  actions: {
    up({ inputs }) {
      expectType<Equal<typeof inputs.greeting, string>>();
      expectType<Equal<typeof inputs.legacy, "a" | "b">>();
      expectType<Equal<typeof inputs.port, number>>();
      expectType<Equal<typeof inputs.fast, boolean>>();
      expectType<Equal<typeof inputs.size, "s" | "m" | "l">>();
      expectType<Equal<typeof inputs.data, string>>();
      expectType<Equal<typeof inputs.token, Secret>>();
      expectType<Equal<typeof inputs.optionalToken, Secret | undefined>>();
      expectType<Equal<typeof inputs.tags, string[]>>();
      expectType<Equal<typeof inputs.note, string | undefined>>();
      expectType<Equal<typeof inputs.keptNote, string>>();
      // @ts-expect-error a number is not a string
      const s: string = inputs.port;
      // @ts-expect-error an enum value is one of its values
      const big: typeof inputs.size = "xl";
      // @ts-expect-error a secret is not its value
      const t: string = inputs.token;
      // @ts-expect-error an optional input without a default may be undefined
      const n: string = inputs.note;
      // @ts-expect-error no such input
      void inputs.nope;
      return { s, big, t, n };
    },
  },
});

// Not checked here: a misspelt field type-checks, because inferring `const I` skips
// excess-property checks; validateStack refuses it at load.
const noValues = { e: { type: "enum" } } as const;
const secretDefault = { s: { type: "secret", default: "hunter2" } } as const;
// @ts-expect-error a secret has no default
defineStack({ name: "x", version: "1", inputs: secretDefault, actions: {} });
const listDefault = { l: { type: "list", default: "a" } } as const;
const int = { i: { type: "int" } } as const;
// @ts-expect-error an enum needs its values
defineStack({ name: "x", version: "1", inputs: noValues, actions: {} });
// @ts-expect-error a list's default is a list
defineStack({ name: "x", version: "1", inputs: listDefault, actions: {} });
// @ts-expect-error not one of the seven types
defineStack({ name: "x", version: "1", inputs: int, actions: {} });

type Values = InputValues<NonNullable<(typeof stack)["inputs"]>>;
expectType<Equal<Values["size"], "s" | "m" | "l">>();

describe("InputValues", () => {
  it("is checked by tsc --noEmit (this file's @ts-expect-error lines)", () => {
    assert.equal(stack.name, "types");
  });
});
