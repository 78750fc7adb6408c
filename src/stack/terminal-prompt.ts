/**
 * The `-i` prompter: asks on a terminal, or reads one line per question from a pipe so that
 * scripts can feed the answers (`printf '8080\nhunter2\n' | hln up -i ...`). A secret typed
 * at a terminal is not echoed.
 */
import { StringDecoder } from "node:string_decoder";
import { HlnError } from "../errors.js";
import { describeInputType, type InputQuestion, type Prompter } from "./inputs.js";

type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(on: boolean): unknown };

/** The line a question is asked with, e.g. `size (enum(s|m|l)) - how big: `. */
export function questionText(question: InputQuestion, hidden: boolean): string {
  const { name, declaration } = question;
  const notes = [describeInputType(declaration)];
  if (declaration.type === "list") notes.push("comma-separated");
  if (hidden) notes.push("not shown");
  const description = declaration.description ? ` - ${declaration.description}` : "";
  const retry = question.retry === undefined ? "" : `  ${question.retry}; try again\n`;
  return `${retry}${name} (${notes.join(", ")})${description}: `;
}

function cancelled(reason?: unknown): HlnError {
  return new HlnError("E_ABORTED", "cancelled", reason === undefined ? {} : { cause: reason });
}

function ended(name: string): HlnError {
  return new HlnError(
    "E_INPUT_INVALID",
    `no answer for input ${name}: the input ended (-i reads one line per question)`,
  );
}

/**
 * Reads text from the input as it is needed, keeping what arrives past the current answer
 * for the next question: a pipe delivers all answers in one chunk.
 */
class Reader {
  #buffer = "";
  #ended = false;
  #error: Error | undefined;
  #watching = false;
  readonly #decoder = new StringDecoder("utf8");

  constructor(readonly input: Input) {}

  get buffer(): string {
    return this.#buffer;
  }

  set buffer(text: string) {
    this.#buffer = text;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Waits for more text, the end of the input, or the signal; false at the end. */
  async more(signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) throw cancelled(signal.reason);
    this.#watch();
    if (this.#error) throw this.#error;
    if (this.#ended || (this.input as { readableEnded?: boolean }).readableEnded) return false;
    const input = this.input;
    return await new Promise<boolean>((resolve, reject) => {
      const done = () => {
        input.off("data", onData);
        input.off("end", onEnd);
        input.off("error", onError);
        signal?.removeEventListener("abort", onAbort);
        // Paused, the input keeps the rest for the next question and lets the process exit.
        input.pause();
      };
      const onData = (chunk: Buffer | string) => {
        this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.write(chunk);
        done();
        resolve(true);
      };
      const onEnd = () => {
        this.#buffer += this.#decoder.end();
        done();
        resolve(false);
      };
      const onError = (err: Error) => {
        done();
        reject(err);
      };
      const onAbort = () => {
        done();
        reject(cancelled(signal?.reason));
      };
      input.on("data", onData);
      input.once("end", onEnd);
      input.once("error", onError);
      signal?.addEventListener("abort", onAbort, { once: true });
      input.resume();
    });
  }

  /** Remembers an end or error that comes while no question waits. */
  #watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    this.input.once("end", () => {
      this.#ended = true;
    });
    this.input.once("error", (err: Error) => {
      this.#error = err;
    });
  }

  /** The next line without its line ending, or undefined at the end of the input. */
  async line(signal: AbortSignal | undefined): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
      if (!(await this.more(signal))) {
        if (this.#buffer === "") return undefined;
        const last = this.#buffer;
        this.#buffer = "";
        return last;
      }
    }
  }
}

/**
 * Reads a secret on a terminal in raw mode, so that nothing is echoed. Enter ends it,
 * Backspace removes a character, Ctrl-U the line, Ctrl-C cancels; the terminal's mode is
 * restored however it ends.
 */
async function readHidden(
  reader: Reader,
  name: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const input = reader.input;
  const wasRaw = (input as { isRaw?: boolean }).isRaw === true;
  input.setRawMode!(true);
  try {
    let answer: string[] = [];
    for (;;) {
      const text = reader.buffer;
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (c === "\r" || c === "\n") {
          const next = c === "\r" && text[i + 1] === "\n" ? i + 2 : i + 1;
          reader.buffer = text.slice(next);
          return answer.join("");
        }
        if (c === "\x03") {
          reader.buffer = "";
          throw cancelled();
        }
        if (c === "\x04") {
          if (answer.length === 0) {
            reader.buffer = text.slice(i + 1);
            throw ended(name);
          }
        } else if (c === "\x7f" || c === "\b") {
          answer = answer.slice(0, -1);
        } else if (c === "\x15") {
          answer = [];
        } else if (c === "\x1b") {
          // An escape sequence (an arrow key): skipped whole.
          if (text[i + 1] === "[") {
            i += 2;
            while (i < text.length && !/[@-~]/.test(text[i]!)) i++;
          }
        } else if (c >= " ") {
          // Surrogate pairs stay together, so Backspace removes a whole character.
          const code = text.codePointAt(i)!;
          const char = String.fromCodePoint(code);
          answer.push(char);
          i += char.length - 1;
        }
      }
      reader.buffer = "";
      if (!(await reader.more(signal))) throw ended(name);
    }
  } finally {
    input.setRawMode!(wasRaw);
  }
}

/**
 * A prompter on a terminal or a pipe. Questions go to `output` (stderr for the CLI, so
 * that stdout stays data). With a TTY input a secret is read without echo; without one,
 * each question takes one line from `input`, and the end of the input is an error that
 * names the unanswered input.
 *
 * @example
 * const prompt = createTerminalPrompter({ input: process.stdin, output: process.stderr });
 * await resolveInputs(stack, { prompt });
 */
export function createTerminalPrompter(io: {
  input: Input;
  output: NodeJS.WritableStream;
}): Prompter {
  const reader = new Reader(io.input);
  return async (question, signal) => {
    if (signal?.aborted) throw cancelled(signal.reason);
    const tty = io.input.isTTY === true && typeof io.input.setRawMode === "function";
    const hidden = question.secret && tty;
    io.output.write(questionText(question, hidden));
    if (hidden) {
      try {
        return await readHidden(reader, question.name, signal);
      } finally {
        // Enter was not echoed; the next line of output starts on a line of its own.
        io.output.write("\n");
      }
    }
    const answer = await reader.line(signal);
    // A terminal echoed the answer and its Enter; a pipe echoes nothing.
    if (!tty) io.output.write("\n");
    if (answer === undefined) throw ended(question.name);
    return answer;
  };
}
