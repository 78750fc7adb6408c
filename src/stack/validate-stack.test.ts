import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { defineStack, type Stack } from "./define-stack.js";
import { validateStack } from "./validate-stack.js";

/** A stack with `patch` laid over a valid one, past the types as a JavaScript stack would be. */
function stack(patch: Record<string, unknown>): Stack {
  return {
    ...defineStack({ name: "s", version: "1.0.0", actions: { up() {} } }),
    ...patch,
  } as Stack;
}

function messageOf(s: Stack): string {
  try {
    validateStack("stack.ts", s);
  } catch (err) {
    assert.ok(err instanceof HlnError, "an HlnError");
    assert.equal(err.code, "E_STACK_INVALID");
    return err.message;
  }
  assert.fail("expected an error");
}

describe("validateStack", () => {
  it("accepts every input type with its fields, and today's string with choices", () => {
    validateStack(
      "stack.ts",
      defineStack({
        name: "shop",
        version: "0.1.0",
        description: "a shop",
        tags: ["web"],
        inputs: {
          greeting: { type: "string", default: "hi", description: "what to say" },
          legacy: { type: "string", choices: ["a", "b"], default: "a" },
          port: { type: "number", default: 80, env: "SHOP_PORT" },
          fast: { type: "boolean", default: false, required: false },
          size: { type: "enum", values: ["s", "m"], default: "m" },
          data: { type: "path", default: ".", mustExist: false },
          db_password: { type: "secret", env: "SHOP_DB_PASSWORD" },
          "host-names": { type: "list", default: ["a"] },
          _x: { type: "list" },
        },
        actions: { up() {} },
      }),
    );
  });

  it("names the file and the field at fault, in one line", () => {
    const input = (d: unknown) => stack({ inputs: { port: d } });
    const cases: [Stack, string][] = [
      [stack({ name: "Shop" }), "name must be lowercase letters, digits and dashes"],
      [stack({ version: "" }), "version is missing"],
      [stack({ description: 3 }), "description is not a string"],
      [stack({ tags: "web" }), "tags is not a list of strings"],
      [stack({ tags: ["web", 1] }), "tags is not a list of strings"],
      [stack({ actions: null }), "actions is missing"],
      [stack({ actions: { up: 1 } }), "actions.up is not a function"],
      [stack({ inputs: [] }), "inputs is not a mapping of names to declarations"],
      [
        stack({ inputs: { "db.password": { type: "string" } } }),
        'input name "db.password": use letters, digits, "_" and "-", starting with a letter or "_"',
      ],
      [
        stack({ inputs: { "1st": { type: "string" } } }),
        'input name "1st": use letters, digits, "_" and "-", starting with a letter or "_"',
      ],
      [input("number"), "inputs.port is not a declaration ({ type: ... })"],
      [
        input({ type: "int" }),
        "inputs.port.type must be string, number, boolean, enum, path, secret or list",
      ],
      [
        input({ type: "number", defualt: 80 }),
        "inputs.port.defualt is not a field of a number input (fields: type, description, required, env, default)",
      ],
      [input({ type: "number", default: "80" }), "inputs.port.default is not a number"],
      [input({ type: "number", default: Number.NaN }), "inputs.port.default is not a number"],
      [input({ type: "boolean", default: "true" }), "inputs.port.default is not true or false"],
      [input({ type: "string", default: 1 }), "inputs.port.default is not a string"],
      [input({ type: "path", default: 1 }), "inputs.port.default is not a string"],
      [input({ type: "list", default: "a,b" }), "inputs.port.default is not a list of strings"],
      [input({ type: "list", default: [1] }), "inputs.port.default is not a list of strings"],
      [input({ type: "enum" }), "inputs.port.values is not a non-empty list of strings"],
      [
        input({ type: "enum", values: [] }),
        "inputs.port.values is not a non-empty list of strings",
      ],
      [
        input({ type: "enum", values: [1] }),
        "inputs.port.values is not a non-empty list of strings",
      ],
      [
        input({ type: "string", choices: "a" }),
        "inputs.port.choices is not a non-empty list of strings",
      ],
      [
        input({ type: "enum", values: ["s", "m"], default: "xl" }),
        'inputs.port.default "xl" is not one of s, m',
      ],
      [
        input({ type: "string", choices: ["a"], default: "b" }),
        'inputs.port.default "b" is not one of a',
      ],
      [
        input({ type: "secret", default: "hunter2" }),
        "inputs.port.default: a secret has no default (declare env, or pass it with --set port=env:VAR)",
      ],
      [
        input({ type: "number", env: "SHOP PORT" }),
        'inputs.port.env is not a variable name (letters, digits and "_", not starting with a digit)',
      ],
      [input({ type: "number", required: "yes" }), "inputs.port.required is not true or false"],
      [input({ type: "path", mustExist: 0 }), "inputs.port.mustExist is not true or false"],
      [input({ type: "number", description: ["a"] }), "inputs.port.description is not a string"],
    ];
    for (const [s, expected] of cases) {
      assert.equal(messageOf(s), `stack.ts: ${expected}`);
    }
  });
});
