import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command, CommanderError } from "commander";
import { commanderError, commandPath } from "./usage-error.js";

function program(): Command {
  const p = new Command("hln")
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {}, outputError: () => {} })
    .option("--engine <address>")
    .option("--debug");
  p.command("do").argument("<action>").requiredOption("-p, --plan <path>").option("-s, --set <kv>");
  p.command("engine").command("info").option("-o, --output <format>");
  return p;
}

function usage(argv: string[]): { message: string; hint?: string } {
  const p = program();
  try {
    p.parse(argv, { from: "user" });
  } catch (err) {
    assert.ok(err instanceof CommanderError);
    const e = commanderError(p, argv, err);
    assert.equal(e.code, "E_USAGE");
    return { message: e.message, hint: e.hint };
  }
  assert.fail("parsed");
}

describe("commandPath", () => {
  it("walks past global options and their values", () => {
    const names = (argv: string[]) => commandPath(program(), argv).map((c) => c.name());
    assert.deepEqual(names(["--engine", "tcp://x:1", "engine", "info"]), ["engine", "info"]);
    assert.deepEqual(names(["--debug", "do", "up"]), ["do"]);
    assert.deepEqual(names(["--engine=do", "bogus"]), []);
  });
});

describe("commanderError", () => {
  it("is one line naming the command, and a hint to its help", () => {
    assert.deepEqual(usage(["do", "up"]), {
      message: "do: missing --plan PATH",
      hint: "hln do --help",
    });
    assert.deepEqual(usage(["do", "--plan", "."]), {
      message: "do: missing ACTION",
      hint: "hln do --help",
    });
    assert.equal(usage(["do", "up", "--plan"]).message, "do: --plan PATH: the value is missing");
    assert.deepEqual(usage(["engine", "info", "--bogus"]), {
      message: "engine info: unknown option '--bogus'",
      hint: "hln engine info --help",
    });
    assert.deepEqual(usage(["bogus"]), {
      message: "unknown command 'bogus'",
      hint: "hln --help",
    });
  });

  it("keeps commander's suggestion on the same line", () => {
    assert.equal(
      usage(["do", "up", "--plan", ".", "--sett", "k=v"]).message,
      "do: unknown option '--sett' (did you mean --set?)",
    );
    assert.equal(usage(["doo"]).message, "unknown command 'doo' (did you mean do?)");
  });
});
