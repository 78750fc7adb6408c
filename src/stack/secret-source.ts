/**
 * Where the value of a `secret` input comes from. A values file or `--set` never holds the
 * value itself, only a reference to it (`env:VAR`, `file:PATH`, `command:CMD`): a literal
 * would stay in shell history and in files that get committed. The reference, never the
 * value, is what hln records and shows.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { HlnError, throwIfAborted } from "../errors.js";
import { fileReason } from "../file-reason.js";
import { type Secret, secretFromCommand, secretFromValue } from "../sdk/secret.js";

export type SecretSource =
  | { kind: "env"; variable: string }
  /** An absolute path. */
  | { kind: "file"; path: string }
  /**
   * Run with `/bin/sh -c` in `directory` (the values file's, or the working directory), so
   * that it finds files the way a `file:` reference beside it does; its stdout is the value.
   */
  | { kind: "command"; command: string; directory: string }
  /** Typed at a prompt that did not echo. */
  | { kind: "prompt" };

export const secretSourceKinds = ["env", "file", "command"] as const;

/** How the sources are written, for messages. */
export const secretSourceForms = "env:VAR, file:PATH or command:CMD";

/**
 * Reads `env:VAR`, `file:PATH` or `command:CMD`. Anything else is a literal, which is
 * `undefined` here: the caller refuses it. A relative file is relative to `directory`.
 * An empty reference (`env:`) is an error that names the form.
 */
export function parseSecretReference(text: string, directory: string): SecretSource | undefined {
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (!(secretSourceKinds as readonly string[]).includes(kind)) return undefined;
  return secretSourceOf(kind as (typeof secretSourceKinds)[number], rest, directory);
}

/** A source from its kind and the text after it, e.g. the YAML mapping `{file: ./pw}`. */
export function secretSourceOf(
  kind: (typeof secretSourceKinds)[number],
  rest: string,
  directory: string,
): SecretSource {
  if (rest.trim() === "") {
    const what = kind === "env" ? "VAR" : kind === "file" ? "PATH" : "CMD";
    throw new HlnError("E_INPUT_INVALID", `${kind}: needs a ${what} after the colon`);
  }
  switch (kind) {
    case "env":
      return { kind, variable: rest };
    case "file":
      return { kind, path: resolve(directory, rest) };
    case "command":
      return { kind, command: rest, directory };
  }
}

/** The JSON-safe record of a source: `env:VAR`, `file:/abs/path`, `command:CMD`, `prompt`. */
export function recordedSecretSource(source: SecretSource): string {
  switch (source.kind) {
    case "env":
      return `env:${source.variable}`;
    case "file":
      return `file:${source.path}`;
    case "command":
      return `command:${source.command}`;
    case "prompt":
      return "prompt";
  }
}

/** A command's failure in words of its own, without secretFromCommand's argv prefix. */
function commandFailure(argv: readonly string[], err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const prefix = `secretFromCommand(${JSON.stringify(argv)}): `;
  const reason = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  if (reason.startsWith("killed")) return `the command was ${reason}`;
  if (reason.startsWith("cannot run")) return `${reason} to run the command`;
  return `the command ${reason}`;
}

/**
 * Loads the value now, so that a missing variable, an unreadable file or a failing command
 * stops the run before any engine work. `answer` is the value typed at a prompt. Errors
 * are HlnErrors whose message is the reason alone (`environment variable X is not set`);
 * the caller puts the flag or file in front. No message holds the value.
 */
export async function loadSecret(
  source: SecretSource,
  name: string,
  options: { env: NodeJS.ProcessEnv; answer?: string; signal?: AbortSignal },
): Promise<Secret> {
  throwIfAborted(options.signal);
  let value: Uint8Array | string;
  switch (source.kind) {
    case "env": {
      const found = options.env[source.variable];
      if (found === undefined) {
        throw new HlnError("E_INPUT_INVALID", `environment variable ${source.variable} is not set`);
      }
      value = found;
      break;
    }
    case "file":
      try {
        // Byte for byte, as Docker and compose read secret files: a trailing newline the
        // file has is part of the value.
        value = new Uint8Array(await readFile(source.path, { signal: options.signal }));
      } catch (err) {
        throwIfAborted(options.signal);
        throw new HlnError("E_INPUT_INVALID", `cannot read ${source.path}: ${fileReason(err)}`, {
          cause: err,
        });
      }
      break;
    case "command": {
      // The directory and the command travel as arguments, not spliced into the script,
      // so that no quoting of either can change what runs.
      const argv = [
        "/bin/sh",
        "-c",
        'cd "$1" && eval "$2"',
        "sh",
        source.directory,
        source.command,
      ];
      let out: Uint8Array;
      try {
        out = await secretFromCommand(argv, name, options.signal).value();
      } catch (err) {
        throwIfAborted(options.signal);
        if (err instanceof HlnError && err.code === "E_ABORTED") throw err;
        throw new HlnError("E_INPUT_INVALID", commandFailure(argv, err), { cause: err });
      }
      // As the shell's $(...) does: `pass show db` ends its output with a newline that
      // is not part of the password.
      let end = out.length;
      while (end > 0 && (out[end - 1] === 0x0a || out[end - 1] === 0x0d)) end--;
      value = out.subarray(0, end);
      break;
    }
    case "prompt":
      value = options.answer ?? "";
      break;
  }
  const secret = secretFromValue(name, value, options.env);
  await secret.value();
  return secret;
}
