import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureArgs } from "./exec-capture.js";
import {
  exitCodeOf,
  quoteArgv,
  quotedArgvOf,
  runFailureOf,
  shimStartFailure,
} from "./exec-failure.js";

describe("exec failure messages", () => {
  it("find the argv BuildKit quotes, newlines and quotes included", () => {
    const argv = captureArgs(["sh", "-c", 'echo "$TOKEN"\tx; exit 9']);
    // What Go prints with %q for that argv, as seen from a real engine.
    const goQuoted = JSON.stringify(argv.join(" "));
    const message = `process ${goQuoted} did not complete successfully: exit code: 9`;
    assert.equal(quotedArgvOf(message), quoteArgv(argv));
    assert.match(goQuoted, /\\n/);
    assert.equal(exitCodeOf(message), 9);
  });

  it("find nothing in other errors", () => {
    assert.equal(quotedArgvOf("failed to compute cache key: not found"), undefined);
    assert.equal(exitCodeOf("failed to compute cache key"), undefined);
  });

  it("find why a process never ran, and only that", () => {
    const why = "unable to find user nobody2: no matching entries in passwd file";
    assert.equal(runFailureOf(`process "id" did not complete successfully: ${why}`), why);
    assert.equal(
      runFailureOf('process "id" did not complete successfully: exit code: 1'),
      undefined,
    );
    assert.equal(runFailureOf("failed to compute cache key"), undefined);
  });
});

describe("shimStartFailure", () => {
  it("reads why hln's shim could not start the command, only from its exit codes", () => {
    const line = 'hln: exec "echo": argument list too long';
    assert.equal(shimStartFailure(126, ["x", line]), 'exec "echo": argument list too long');
    assert.equal(
      shimStartFailure(127, ['hln: exec "a \\"b\\"": no such file or directory in PATH']),
      'exec "a \\"b\\"": no such file or directory in PATH',
    );
    assert.equal(shimStartFailure(1, [line]), undefined);
    assert.equal(shimStartFailure(126, [line, "later output"]), undefined);
    assert.equal(shimStartFailure(undefined, [line]), undefined);
  });
});
