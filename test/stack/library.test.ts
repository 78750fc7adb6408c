/**
 * A program can do what `hln do` does before the engine, through the package's entry points
 * alone ("hln" and "hln/stack"): find a stack, load it and check its inputs.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { defineStack, HlnError, type Stack } from "../../src/index.js";
import { listStacks, parseStackRef, prepareStack, resolveInputs } from "../../src/stack/public.js";
import { repoRoot } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the stack API from the package entry", () => {
  it("prepares a bundled stack with values from a file and --set, no engine involved", async () => {
    const dir = tempDir("hln-library-");
    const values = join(dir, "values.yaml");
    writeFileSync(values, "greeting: hi\nrounds: 3\n");
    const cache = join(dir, "cache");
    const prepared = await prepareStack("hello", {
      valuesFiles: [values],
      sets: ["rounds=5"],
      cwd: dir,
      env: { XDG_CACHE_HOME: cache },
    });
    assert.equal(prepared.stack.name, "hello");
    assert.equal(prepared.source, "bundled");
    assert.deepEqual(prepared.inputs.values, { greeting: "hi", rounds: 5 });
    assert.deepEqual(prepared.inputs.origins.rounds, { from: "set" });
    assert.equal(prepared.inputs.origins.greeting?.from, "values");
    const listed = await listStacks({ env: { XDG_CACHE_HOME: cache } });
    assert.ok(listed.some((s) => s.name === "hello" && s.source === "bundled"));
  });

  it("an unknown name that is a stack directory here says how to name it", async () => {
    const dir = tempDir("hln-library-");
    mkdirSync(join(dir, "myapp"));
    copyFileSync(join(repoRoot, "stacks", "hello", "stack.ts"), join(dir, "myapp", "stack.ts"));
    await assert.rejects(
      prepareStack("myapp", { cwd: dir, env: { XDG_CACHE_HOME: join(dir, "cache") } }),
      (e) =>
        e instanceof HlnError &&
        e.message.startsWith("no stack named myapp;") &&
        e.message.endsWith("; ./myapp is a stack here: -s ./myapp or --dir myapp"),
    );
  });

  it("checks inputs of a stack given as data, and refuses bad ones with HlnError", async () => {
    const stack = {
      name: "s",
      inputs: { size: { type: "enum", values: ["s", "m"], default: "s" } },
    } as const;
    assert.deepEqual((await resolveInputs(stack, { sets: ["size=m"] })).values, { size: "m" });
    await assert.rejects(
      resolveInputs(stack, { sets: ["size=xl"] }),
      (e) => e instanceof HlnError && e.code === "E_INPUT_INVALID" && /size=xl/.test(e.message),
    );
    assert.deepEqual(parseStackRef("npm:@acme/shop@^1"), { kind: "npm", spec: "@acme/shop@^1" });
  });
});

describe("stack types", () => {
  it("a stack with its own inputs is a Stack, for code that handles any stack", () => {
    const specific = defineStack({
      name: "typed",
      version: "1.0.0",
      inputs: { port: { type: "number", default: 80 } },
      actions: {
        up: ({ inputs }) => inputs.port + 1,
      },
    });
    // A compile-time check first (tsc runs over tests): this assignment must type-check.
    const any: Stack = specific;
    assert.equal(any.name, "typed");
  });
});
