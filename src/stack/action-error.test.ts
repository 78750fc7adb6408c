import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { actionError, Fault, messageOf, misusedCall, thrownByHln } from "./action-error.js";

function thrownAt(file: string): Error {
  const e = new Error("boom");
  e.stack = `Error: boom\n    at node:internal/x (node:internal/x:1:1)\n    at up (${file}:3:16)\n    at runDo (/opt/hln/src/cli/commands/do.ts:84:20)`;
  return e;
}

describe("thrownByHln", () => {
  it("looks at the first file frame: the stack's, a dependency's, or hln's", () => {
    assert.equal(thrownByHln(thrownAt("/home/me/app/stack.ts"), "/opt/hln/src/"), false);
    assert.equal(thrownByHln(thrownAt("/opt/hln/src/sdk/container.ts"), "/opt/hln/src/"), true);
    assert.equal(
      thrownByHln(thrownAt("file:///opt/hln/dist/sdk/container.js"), "/opt/hln/dist/"),
      true,
    );
    // A dependency is skipped: what called it decides.
    assert.equal(
      thrownByHln(thrownAt("/opt/hln/node_modules/yaml/dist/index.js"), "/opt/hln/src/"),
      true,
    );
    assert.equal(thrownByHln("a string"), false);
  });
});

describe("misusedCall", () => {
  const stackOf = (lines: string[]) => {
    const e = new TypeError("args.reduce is not a function");
    e.stack = ["TypeError: args.reduce is not a function", ...lines.map((l) => `    at ${l}`)].join(
      "\n",
    );
    return e;
  };
  it("names the last hln call before the stack's own frame", () => {
    const e = stackOf([
      "wireExec (/opt/hln/src/sdk/exec-capture.ts:117:22)",
      "Container.withExec (/opt/hln/src/sdk/container.ts:142:18)",
      "up (/home/me/app/stack.js:4:48)",
      "runDo (/opt/hln/src/cli/commands/do.ts:93:76)",
    ]);
    assert.equal(misusedCall(e, "/opt/hln/src/"), "withExec");
  });
  it("is undefined for hln's own bugs and for other errors", () => {
    const own = stackOf([
      "wireExec (/opt/hln/src/sdk/exec-capture.ts:117:22)",
      "runDo (/opt/hln/src/cli/commands/do.ts:93:76)",
      "async Command.<anonymous> (/opt/hln/node_modules/commander/lib/command.js:1:1)",
    ]);
    assert.equal(misusedCall(own, "/opt/hln/src/"), undefined);
    const user = stackOf(["up (/home/me/app/stack.js:4:48)"]);
    assert.equal(misusedCall(user, "/opt/hln/src/"), undefined);
    assert.equal(misusedCall(new Error("x"), "/opt/hln/src/"), undefined);
  });
});

describe("actionError", () => {
  const where = 'stack.ts: action "up"';

  it("blames the action for what its code threw", () => {
    const e = actionError(thrownAt("/home/me/app/stack.ts"), where);
    assert.equal(e.code, "E_STACK_ACTION");
    assert.equal(e.message, 'stack.ts: action "up" failed: boom');
    assert.equal(actionError("text", where).message, 'stack.ts: action "up" failed: text');
    assert.equal(actionError({ a: 1 }, where).message, 'stack.ts: action "up" failed: {"a":1}');
  });

  it("keeps hln's errors as they are", () => {
    const own = new HlnError("E_EXEC_FAILED", "process x");
    assert.equal(actionError(own, where), own);
    assert.equal(actionError(new Fault("rejection", own), where), own);
    assert.equal(actionError(thrownAt(`${process.cwd()}/src/sdk/x.ts`), where).code, "E_INTERNAL");
  });

  it("says how a fault escaped", () => {
    const user = thrownAt("/home/me/app/stack.ts");
    assert.equal(
      actionError(new Fault("uncaught", user), where).message,
      'stack.ts: action "up": a timer or callback threw: boom',
    );
    assert.equal(
      actionError(new Fault("rejection", user), where).message,
      'stack.ts: action "up": a promise it did not await failed: boom',
    );
    const drained = actionError(new Fault("drained", undefined), where);
    assert.equal(drained.code, "E_STACK_ACTION");
    assert.equal(drained.message, 'stack.ts: action "up" returned a promise that never settled');
  });
});

describe("messageOf", () => {
  it("says something of any value, even one that throws when read", () => {
    const throwingMessage = new Error("x");
    Object.defineProperty(throwingMessage, "message", {
      get() {
        throw new Error("m");
      },
    });
    const throwingStack = new Error("boom");
    Object.defineProperty(throwingStack, "stack", {
      get() {
        throw new Error("s");
      },
    });
    const trap = new Proxy(
      {},
      {
        get: () => {
          throw new Error("trap");
        },
        ownKeys: () => {
          throw 1;
        },
      },
    );
    // JSON leaves a toString that throws out, as it leaves out every function.
    assert.equal(messageOf({ toString: () => Symbol() }), "{}");
    assert.equal(messageOf(trap), "a value that cannot be shown (object)");
    assert.equal(messageOf(Symbol("s")), "Symbol(s)");
    assert.equal(messageOf(undefined), "undefined");
    assert.equal(messageOf(throwingMessage), "{}");
    assert.equal(thrownByHln(throwingStack), false);
    assert.equal(actionError(throwingMessage, 'stack.ts: action "x"').code, "E_STACK_ACTION");
  });
});
