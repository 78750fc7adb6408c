import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureArgs } from "./exec-capture.js";
import {
  exitCodeOf,
  oldEngineArgv,
  quoteArgv,
  quotedArgvOf,
  runFailureOf,
  runtimeStartFailure,
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

  it("find the argv of BuildKit before 0.9, which printed it as Go's %v", () => {
    const argv = ["/.hln/shim/hln-exec", "sh", "-c", "echo [a]: b\nexit 3"];
    const message = `executor failed running [${argv.join(" ")}]: exit code: 3`;
    assert.equal(quotedArgvOf(message), quoteArgv(argv));
    assert.equal(exitCodeOf(message), 3);
    assert.equal(oldEngineArgv(argv), `[${argv.join(" ")}]`);
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

describe("runtimeStartFailure", () => {
  it("reads why runc could not start the process, without the engine's paths", () => {
    const workdir =
      "runc run failed: unable to start container process: error during container init: mkdir /etc/passwd: not a directory";
    assert.equal(runtimeStartFailure(1, ["x", workdir]), "mkdir /etc/passwd: not a directory");
    const mount =
      'runc run failed: unable to start container process: error during container init: error mounting "/var/lib/x/snapshots/1853/fs" to rootfs at "/etc/passwd": mount /var/lib/x/snapshots/1853/fs:/etc/passwd (via /proc/self/fd/6), flags: 0x5000: not a directory';
    assert.equal(runtimeStartFailure(1, [mount]), "cannot mount at /etc/passwd: not a directory");
    assert.equal(runtimeStartFailure(2, [workdir]), undefined);
    assert.equal(runtimeStartFailure(1, ["runc is fine"]), undefined);
  });
});
