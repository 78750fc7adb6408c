import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { resolveInputs } from "./inputs.js";

const decl = {
  greeting: { type: "string", default: "hello" },
  size: { type: "string", choices: ["s", "m"], default: "s" },
  rounds: { type: "number", default: 3 },
  fast: { type: "boolean", default: false },
  token: { type: "string" },
} as const;

function error(fn: () => unknown): HlnError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HlnError);
    return err;
  }
  assert.fail("expected an error");
}

describe("resolveInputs", () => {
  it("fills defaults and converts --set values by declared type", () => {
    assert.deepEqual(
      resolveInputs(decl, ["token=t", "rounds=7", "fast=true", "greeting=a=b"], "s"),
      {
        greeting: "a=b",
        size: "s",
        rounds: 7,
        fast: true,
        token: "t",
      },
    );
  });

  it("names the flag and lists the inputs for an unknown key", () => {
    const e = error(() => resolveInputs(decl, ["token=t", "nope=1"], "demo"));
    assert.equal(e.code, "E_INPUT_INVALID");
    assert.equal(
      e.message,
      '--set nope: stack "demo" has no input named nope (inputs: greeting, size, rounds, fast, token)',
    );
  });

  it("rejects bad values with the flag in the message", () => {
    assert.match(
      error(() => resolveInputs(decl, ["token=t", "rounds=x"], "s")).message,
      /^--set rounds=x: expected a number$/,
    );
    assert.match(
      error(() => resolveInputs(decl, ["token=t", "rounds="], "s")).message,
      /expected a number/,
    );
    assert.match(
      error(() => resolveInputs(decl, ["token=t", "fast=yes"], "s")).message,
      /expected true or false/,
    );
    assert.match(
      error(() => resolveInputs(decl, ["token=t", "size=xl"], "s")).message,
      /must be one of s, m/,
    );
    assert.match(
      error(() => resolveInputs(decl, ["token"], "s")).message,
      /^--set token: expected key=value$/,
    );
  });

  it("requires inputs without a default", () => {
    assert.equal(
      error(() => resolveInputs(decl, [], "demo")).message,
      'input token of stack "demo" is required: pass --set token=<string>',
    );
  });
});
