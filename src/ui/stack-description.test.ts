import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineStack, type Stack } from "../stack/define-stack.js";
import { describeStack, formatStackDescription, inputTypeText } from "./stack-description.js";

// A stack typed by its own inputs is not a `Stack` of any inputs (its actions take only
// its own), so tests widen it as the loader does.
const anyStack = (s: unknown) => s as Stack;

const shop = anyStack(
  defineStack({
    name: "shop",
    version: "1.2.0",
    description:
      "A static web front end, an API and PostgreSQL, with a description long enough that it has to wrap in a terminal of one hundred columns",
    tags: ["web", "postgres"],
    inputs: {
      port: { type: "number", default: 8080, description: "host port of the front end" },
      src: { type: "path", default: ".", description: "the API's source directory" },
      dbPassword: { type: "secret", env: "SHOP_DB_PASSWORD", description: "PostgreSQL password" },
      replicas: { type: "enum", values: ["1", "2", "3"], default: "1" },
      origins: { type: "list", default: [] },
      title: { type: "string", default: "my shop", required: false },
      admin: {
        type: "string",
        description:
          "who gets the admin account; the name is also used as the sender of every mail the shop sends\u001b[2J",
      },
    },
    actions: { up: () => ({}), down: () => ({}) },
  }),
);

const located = {
  stack: shop,
  file: "/home/u/.cache/hln/stacks/shop/1.2.0/node_modules/@acme/shop/stack.ts",
  source: "npm" as const,
  reference: "npm:@acme/shop@1.2.0",
  package: { name: "@acme/shop", version: "1.2.0" },
};

describe("describeStack", () => {
  it("gives every field, null when absent, and never a secret's default", () => {
    const d = describeStack(located);
    assert.deepEqual(Object.keys(d), [
      "name",
      "version",
      "source",
      "reference",
      "file",
      "package",
      "description",
      "tags",
      "inputs",
      "actions",
    ]);
    assert.deepEqual(d.actions, ["up", "down"]);
    assert.deepEqual(d.inputs[2], {
      name: "dbPassword",
      type: "secret",
      values: null,
      default: null,
      required: true,
      env: "SHOP_DB_PASSWORD",
      description: "PostgreSQL password",
    });
    assert.deepEqual(d.inputs[3]?.values, ["1", "2", "3"]);
    assert.deepEqual(d.inputs[4]?.default, []);
    assert.equal(d.inputs[5]?.required, false);
    assert.equal(d.inputs[6]?.required, true);
    assert.equal(
      describeStack({
        ...located,
        stack: anyStack(defineStack({ name: "a", version: "1", actions: {} })),
        package: undefined,
      }).package,
      null,
    );
  });

  it("keeps a secret's default out even when one is given", () => {
    const sneaky = anyStack(
      defineStack({
        name: "s",
        version: "1",
        inputs: { token: { type: "secret", default: "hunter2" } as never },
        actions: {},
      }),
    );
    const d = describeStack({ ...located, stack: sneaky });
    assert.equal(d.inputs[0]?.default, null);
    assert.doesNotMatch(formatStackDescription(d, 100), /hunter2/);
  });
});

describe("inputTypeText", () => {
  it("names the values of an enum", () => {
    assert.equal(inputTypeText({ type: "enum", values: ["s", "m", "l"] }), "enum(s|m|l)");
    assert.equal(inputTypeText({ type: "list", values: null }), "list");
    assert.equal(inputTypeText({ type: "string", values: ["a", "b"] }), "enum(a|b)");
  });
});

describe("formatStackDescription", () => {
  const text = formatStackDescription(describeStack(located), 100);

  it("fits 100 columns, wrapping descriptions under their column", () => {
    const lines = text.trimEnd().split("\n");
    for (const l of lines.filter((l) => !l.startsWith("source")))
      assert.ok(l.length <= 100, `${l.length} columns: ${l}`);
    assert.equal(
      text,
      `name         shop
version      1.2.0
source       npm, @acme/shop@1.2.0: /home/u/.cache/hln/stacks/shop/1.2.0/node_modules/@acme/shop/stack.ts
description  A static web front end, an API and PostgreSQL, with a description long enough that it
             has to wrap in a terminal of one hundred columns
tags         web, postgres
actions      up, down

INPUT       TYPE         DEFAULT    REQUIRED  ENV               DESCRIPTION
port        number       8080       no        -                 host port of the front end
src         path         .          no        -                 the API's source directory
dbPassword  secret       -          yes       SHOP_DB_PASSWORD  PostgreSQL password
replicas    enum(1|2|3)  1          no        -
origins     list         []         no        -
title       string       "my shop"  no        -
admin       string       -          yes       -                 who gets the admin account; the name
                                                                is also used as the sender of every
                                                                mail the shop sends\ufffd[2J

run it: SHOP_DB_PASSWORD=... hln do up -s npm:@acme/shop@1.2.0 --set admin=STRING
`,
    );
  });

  it("still shows every column in a narrow terminal", () => {
    const narrow = formatStackDescription(describeStack(located), 60);
    assert.match(narrow, /^admin +string +- +yes +- +who gets the admin$/m);
  });

  it("says a stack has no inputs, and how to run a local one", () => {
    const d = describeStack({
      stack: anyStack(defineStack({ name: "a", version: "1", actions: { build: () => 1 } })),
      file: "/w/a/stack.ts",
      source: "local",
      reference: "/w/a",
    });
    const t = formatStackDescription(d, 100);
    assert.match(t, /^inputs {7}none$/m);
    assert.match(t, /^description {2}-$/m);
    assert.match(t, /^run it: hln do build --dir \/w\/a$/m);
    const spaced = formatStackDescription({ ...d, reference: "/w/it's mine" }, 100);
    assert.match(spaced, /^run it: hln do build --dir '\/w\/it'\\''s mine'$/m);
  });
});
