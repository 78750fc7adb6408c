/**
 * main in-process: what each kind of failure prints and exits with, without an engine.
 * Commands that would need one are given an address no engine listens on, or a command
 * registered by the test throws the error under test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { ExecError, HlnError, type HlnErrorCode } from "../errors.js";
import { exitCodes } from "./errors.js";
import { type MainOptions, main } from "./main.js";

const home = mkdtempSync(join(tmpdir(), "hln-main-test-"));
after(() => rmSync(home, { recursive: true, force: true }));

class Recorder extends Writable {
  text = "";
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  argv: string[],
  o: { env?: NodeJS.ProcessEnv; tty?: boolean; throws?: unknown } & MainOptions = {},
): Promise<Run> {
  const stdout = new Recorder(o.tty);
  const stderr = new Recorder(o.tty);
  const code = await main(
    argv,
    {
      // Nothing of the caller's environment: no engine, home or settings of theirs.
      env: { HOME: home, XDG_CACHE_HOME: join(home, "cache"), ...o.env },
      cwd: home,
      stdout,
      stderr,
      now: () => 0,
    },
    {
      register: (program) => {
        program.command("throw", { hidden: true }).action(() => {
          throw o.throws;
        });
      },
    },
  );
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const stackTrace = /^\s+at .+/m;

/** Exit `code` and stderr whose first line is the error, and whose other lines are hints. */
function assertError(r: Run, code: number, first: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.match(lines[0]!, first, r.stderr);
  for (const l of lines.slice(1)) assert.match(l, /^ {2}hint: /, r.stderr);
  assert.doesNotMatch(r.stderr, stackTrace);
}

describe("main", () => {
  it("a usage error is one line, a hint to the help, and exit 2", async () => {
    assertError(await run(["do"]), 2, /^hln: error: do: missing ACTION$/);
    assertError(await run(["--log-format"]), 2, /^hln: error: --log-format FORMAT: the value/);
    assertError(await run(["up", "--bogus"]), 2, /^hln: error: up: unknown option '--bogus'/);
    assert.match((await run(["do"])).stderr, /^ {2}hint: hln do --help$/m);
  });

  it("an unknown command names it and says which exist", async () => {
    const r = await run(["deploy"]);
    assertError(r, 2, /^hln: error: unknown command 'deploy'/);
    assert.equal(r.stdout, "");
    assertError(await run(["statsu"]), 2, /did you mean status\?/);
  });

  it("--help and --version print to stdout and exit 0", async () => {
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: hln /);
    assert.equal(help.stderr, "");
    const upHelp = await run(["up", "--help"]);
    assert.equal(upHelp.code, 0);
    assert.match(upHelp.stdout, /^Usage: hln up /);
    const version = await run(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\S*\n$/);
    // A group without its subcommand prints its help, but did not do what was asked.
    const group = await run(["engine"]);
    assert.equal(group.code, 2);
    assert.match(group.stdout + group.stderr, /Usage: hln engine/);
  });

  it("an HlnError of each code exits with its code", async () => {
    for (const [code, exit] of Object.entries(exitCodes)) {
      const r = await run(["throw"], {
        throws: new HlnError(code as HlnErrorCode, `failed with ${code}`),
      });
      assert.equal(r.code, exit, `${code}: ${r.stderr}`);
      assert.equal(r.stderr.split("\n")[0], `hln: error: failed with ${code}`);
      assert.doesNotMatch(r.stderr, stackTrace);
    }
    const exec = await run(["throw"], {
      throws: new ExecError({ args: ["false"], exitCode: 1, output: "" }),
    });
    assert.equal(exec.code, 1);
  });

  it("an unexpected exception exits 70 and says it is a bug in hln", async () => {
    for (const thrown of [new TypeError("x is not a function"), "a string", undefined, 42]) {
      const r = await run(["throw"], { throws: thrown });
      assert.equal(r.code, 70, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[1]!, /^ {2}hint: this is a bug in hln; please report it/);
      assert.doesNotMatch(r.stderr, stackTrace);
    }
  });

  it("--debug (or HLN_DEBUG) adds the stack trace, and only then", async () => {
    const thrown = () => new HlnError("E_INPUT_INVALID", "bad", { cause: new Error("inner") });
    const plain = await run(["throw"], { throws: thrown() });
    assert.equal(plain.stderr, "hln: error: bad\n");
    for (const r of [
      await run(["--debug", "throw"], { throws: thrown() }),
      await run(["throw"], { throws: thrown(), env: { HLN_DEBUG: "1" } }),
    ]) {
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^hln: error: bad\n/);
      assert.match(r.stderr, stackTrace);
      // The cause's stack too.
      assert.match(r.stderr, /^Error: inner$/m);
    }
  });

  it("a bad log format names where it came from; errors stay plain text", async () => {
    assertError(
      await run(["--log-format", "xml", "do", "x", "--dir", home]),
      2,
      /^hln: error: --log-format xml: expected auto, tty, plain, json or quiet$/,
    );
    assertError(
      await run(["do", "x", "--dir", home], { env: { HLN_LOG_FORMAT: "fancy" } }),
      2,
      /^hln: error: HLN_LOG_FORMAT=fancy: expected auto/,
    );
    // JSON progress does not turn the error into JSON, and a terminal with NO_COLOR gets
    // no escape sequences.
    const json = await run(["--log-format", "json", "throw"], {
      tty: true,
      env: { NO_COLOR: "1" },
      throws: new HlnError("E_STACK_INVALID", "stack.ts: no default export"),
    });
    assert.equal(json.stderr, "hln: error: stack.ts: no default export\n");
    assert.ok(!json.stderr.includes("\u001b"), json.stderr);
  });

  it("runs in the directory it is given, not the process's", async () => {
    const r = await run(["do", "build"]);
    assertError(r, 2, /^hln: error: do: no stack named, and no stack\.ts here/);
  });

  it("an engine address no engine listens on fails with exit 3, naming it", async () => {
    const sock = join(home, "no-engine.sock");
    const r = await run(["--engine", `unix://${sock}`, "engine", "info"]);
    assert.notEqual(r.code, 70, r.stderr);
    assert.notEqual(r.code, 0, r.stderr);
    assert.ok(r.stderr.startsWith("hln: error: "), r.stderr);
    assert.ok(r.stderr.split("\n")[0]!.includes(sock), r.stderr);
    assert.doesNotMatch(r.stderr, stackTrace);
  });

  it("leaves no listener behind on the process after many runs", async () => {
    const before = ["uncaughtException", "unhandledRejection", "SIGINT", "SIGTERM"].map((e) =>
      process.listenerCount(e),
    );
    for (let i = 0; i < 20; i++) await run(["throw"], { throws: new HlnError("E_USAGE", "x") });
    const afterRuns = ["uncaughtException", "unhandledRejection", "SIGINT", "SIGTERM"].map((e) =>
      process.listenerCount(e),
    );
    // The fault listeners are installed once per process, the first run may add them.
    assert.ok(
      afterRuns.every((n, i) => n <= before[i]! + 1),
      `${before} -> ${afterRuns}`,
    );
  });
});
