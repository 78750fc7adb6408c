import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { rejection } from "../../test/helpers/rejection.js";
import type { InputDeclaration } from "./define-stack.js";
import type { InputQuestion } from "./inputs.js";
import { createTerminalPrompter, questionText } from "./terminal-prompt.js";

const secretQuestion: InputQuestion = {
  name: "dbPassword",
  declaration: { type: "secret", description: "the database password" },
  secret: true,
};

function question(name: string, declaration: InputDeclaration, retry?: string): InputQuestion {
  return retry === undefined
    ? { name, declaration, secret: declaration.type === "secret" }
    : { name, declaration, secret: declaration.type === "secret", retry };
}

/** A stream that passes for a terminal and records the modes it was put in. */
function fakeTty() {
  const input = new PassThrough() as PassThrough & {
    isTTY: boolean;
    isRaw: boolean;
    setRawMode(on: boolean): unknown;
  };
  const modes: boolean[] = [];
  input.isTTY = true;
  input.isRaw = false;
  input.setRawMode = (on: boolean) => {
    modes.push(on);
    input.isRaw = on;
    return input;
  };
  return { input, modes };
}

function collect() {
  const output = new PassThrough();
  let text = "";
  output.on("data", (d: Buffer) => {
    text += d.toString();
  });
  return {
    output,
    text: () => text,
  };
}

describe("questionText", () => {
  it("shows the name, type, description and allowed values", () => {
    assert.equal(
      questionText(
        question("size", { type: "enum", values: ["s", "m"], description: "how big" }),
        false,
      ),
      "size (enum(s|m)) - how big: ",
    );
    assert.equal(
      questionText(question("tags", { type: "list" }, "expected a list"), false),
      "  expected a list; try again\ntags (list, comma-separated): ",
    );
    assert.equal(
      questionText(secretQuestion, true),
      "dbPassword (secret, not shown) - the database password: ",
    );
  });
});

describe("createTerminalPrompter on a terminal", () => {
  it("reads a secret with echo off, handles Backspace, and restores the mode", async () => {
    const { input, modes } = fakeTty();
    const out = collect();
    const prompt = createTerminalPrompter({ input, output: out.output });
    const answer = prompt(secretQuestion);
    // Typed key by key, with a mistake corrected and an arrow key pressed.
    for (const key of ["hun", "x", "\x7f", "\x1b[D", "ter2", "\r"]) input.write(key);
    assert.equal(await answer, "hunter2");
    assert.deepEqual(modes, [true, false]);
    assert.equal(out.text(), "dbPassword (secret, not shown) - the database password: \n");
    assert.ok(!out.text().includes("hunter"), "nothing typed is echoed");
  });

  it("cancels on Ctrl-C and restores the mode", async () => {
    const { input, modes } = fakeTty();
    const prompt = createTerminalPrompter({ input, output: collect().output });
    const answer = prompt(secretQuestion);
    input.write("abc\x03");
    const e = await rejection(answer);
    assert.equal(e.code, "E_ABORTED");
    assert.deepEqual(modes, [true, false]);
  });

  it("cancels on the signal and restores the mode", async () => {
    const { input, modes } = fakeTty();
    const prompt = createTerminalPrompter({ input, output: collect().output });
    const controller = new AbortController();
    const answer = prompt(secretQuestion, controller.signal);
    input.write("abc");
    setImmediate(() => controller.abort());
    const e = await rejection(answer);
    assert.equal(e.code, "E_ABORTED");
    assert.deepEqual(modes, [true, false]);
  });

  it("reads a plain input as a line, without raw mode", async () => {
    const { input, modes } = fakeTty();
    const out = collect();
    const prompt = createTerminalPrompter({ input, output: out.output });
    const answer = prompt(question("port", { type: "number" }));
    input.write("8080\n");
    assert.equal(await answer, "8080");
    assert.deepEqual(modes, []);
    // The terminal itself echoed the answer and its Enter.
    assert.equal(out.text(), "port (number): ");
  });
});

describe("createTerminalPrompter on a pipe", () => {
  it("reads one line per question, secrets included, and names the one the input ended before", async () => {
    const input = new PassThrough();
    const out = collect();
    const prompt = createTerminalPrompter({ input, output: out.output });
    input.end("8080\r\nhunter2\nm");
    assert.equal(await prompt(question("port", { type: "number" })), "8080");
    assert.equal(await prompt(secretQuestion), "hunter2");
    assert.equal(await prompt(question("size", { type: "enum", values: ["s", "m"] })), "m");
    const e = await rejection(prompt(question("tags", { type: "list" })));
    assert.equal(e.code, "E_INPUT_INVALID");
    assert.equal(
      e.message,
      "no answer for input tags: the input ended (-i reads one line per question)",
    );
    assert.ok(!out.text().includes("hunter2"), "a piped answer is not echoed");
    assert.ok(!out.text().includes("not shown"), "a pipe does not claim to hide");
  });

  it("waits for a line that arrives later", async () => {
    const input = new PassThrough();
    const prompt = createTerminalPrompter({ input, output: collect().output });
    const answer = prompt(question("port", { type: "number" }));
    setImmediate(() => input.write("80"));
    setImmediate(() => setImmediate(() => input.write("81\n")));
    assert.equal(await answer, "8081");
  });

  it("is cancelled by the signal while it waits", async () => {
    const input = new PassThrough();
    const prompt = createTerminalPrompter({ input, output: collect().output });
    const controller = new AbortController();
    const answer = prompt(question("port", { type: "number" }), controller.signal);
    setImmediate(() => controller.abort());
    assert.equal((await rejection(answer)).code, "E_ABORTED");
  });
});
