import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration } from "../duration.js";
import { ExecError, HlnError } from "../errors.js";
import { reportError } from "./errors.js";
import { formatData } from "./output.js";

describe("parseDuration", () => {
  it("reads Go-style durations", () => {
    assert.equal(parseDuration("90s", "--x"), 90_000);
    assert.equal(parseDuration("1h30m", "--x"), 5_400_000);
    assert.equal(parseDuration("7d", "--x"), 604_800_000);
    assert.equal(parseDuration("250ms", "--x"), 250);
  });
  it("names the flag on bad input", () => {
    for (const bad of ["", "10", "h", "10x", "5m junk"]) {
      assert.throws(() => parseDuration(bad, "--keep-duration"), { code: "E_USAGE" });
    }
  });
});

describe("reportError", () => {
  function report(err: unknown, debug = false) {
    let out = "";
    const code = reportError(err, { debug, write: (s) => (out += s) });
    return { code, out };
  }

  it("prints one line and maps codes to exit codes", () => {
    assert.deepEqual(report(new HlnError("E_INPUT_INVALID", "bad")), {
      code: 2,
      out: "hln: error: bad\n",
    });
    assert.equal(report(new HlnError("E_ENGINE_UNREACHABLE", "x")).code, 3);
    assert.equal(report(new HlnError("E_ABORTED", "x")).code, 130);
    assert.equal(report(new Error("boom")).code, 70);
  });

  it("shows a failed step's last output and hints, and stacks only with debug", () => {
    const err = new ExecError({ args: ["sh", "-c", "exit 3"], exitCode: 3, output: "a\nb\n" });
    const r = report(err);
    assert.equal(r.code, 1);
    assert.equal(
      r.out,
      'hln: error: process "sh -c exit 3" exited with code 3\n  last output of the step:\n  | a\n  | b\n',
    );
    const hinted = report(new HlnError("E_ENGINE_UNREACHABLE", "x", { hint: "start it" }));
    assert.equal(hinted.out, "hln: error: x\n  hint: start it\n");
    // A hint of several lines (a service's last log lines) keeps them, each made inert.
    const lines = report(
      new HlnError("E_DEPLOY_FAILED", "service web exited", {
        hint: "its last lines:\n  | up\u001b[2J\n  | down",
      }),
    );
    assert.equal(
      lines.out,
      "hln: error: service web exited\n  hint: its last lines:\n  | up\\u001b[2J\n  | down\n",
    );
    assert.match(report(new Error("boom"), true).out, /at /);
  });

  it("names why a step never ran, and the call at fault when it is known", () => {
    const why = "unable to find user nobody2: no matching entries in passwd file";
    const base = { args: ["id"], exitCode: undefined, output: "", reason: why };
    assert.equal(report(new ExecError(base)).out, `hln: error: process "id" did not run: ${why}\n`);
    assert.equal(
      report(new ExecError({ ...base, origin: 'withUser("nobody2")' })).out,
      `hln: error: withUser("nobody2"): ${why}\n`,
    );
  });

  it("keeps a message on one line and inert: line breaks and escapes are shown escaped", () => {
    const r = report(new HlnError("E_STACK_ACTION", "first\nsecond\r\u001b[2J\u202eend\ttab"));
    assert.equal(r.out, "hln: error: first\\nsecond\\r\\u001b[2J\\u202eend\ttab\n");
    assert.equal(r.code, 1);
  });

  it("redacts secrets from every line it prints", () => {
    let out = "";
    reportError(new HlnError("E_INPUT_INVALID", "bad token s3cret", { hint: "s3cret again" }), {
      debug: false,
      write: (s) => (out += s),
      scrub: (t) => t.replaceAll("s3cret", "***"),
    });
    assert.equal(out, "hln: error: bad token ***\n  hint: *** again\n");
  });
});

describe("formatData", () => {
  it("prints YAML for people and JSON for scripts", () => {
    assert.equal(formatData({ a: 1, b: ["x"] }, "yaml"), "a: 1\nb:\n  - x\n");
    assert.equal(formatData({ a: 1 }, "json"), '{\n  "a": 1\n}\n');
    assert.equal(formatData(undefined, "yaml"), "");
    assert.equal(formatData(undefined, "json"), "null\n");
  });
});
