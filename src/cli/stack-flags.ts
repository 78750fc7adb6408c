/**
 * The flags every command that runs a stack takes (`hln do`, `hln up`), written once so
 * their names, help and parsing cannot drift apart, and the progress display they share.
 */
import type { Command } from "commander";
import { createProgress } from "../ui/create-progress.js";
import type { ProgressRenderer } from "../ui/renderer.js";
import type { CliContext } from "./context.js";

const repeatable = (v: string, acc: string[]) => [...acc, v];

/** `-s`, `--dir`, `-f`, `--set` and `-i`: which stack, and its inputs. */
export function stackFlags(command: Command): Command {
  return command
    .option(
      "-s, --stack <stack>",
      "the stack: NAME[@VERSION] (bundled or cached), npm:PACKAGE[@RANGE], or a path",
    )
    .option("--dir <dir>", "a local stack: a directory holding stack.ts, or a stack file");
}

export function inputFlags(command: Command): Command {
  return command
    .option(
      "-f, --file <values.yaml>",
      "input values: a YAML mapping of input names to values (repeatable, later wins)",
      repeatable,
      [] as string[],
    )
    .option(
      "--set <key=value>",
      "set an input; wins over values files (repeatable, last wins)",
      repeatable,
      [] as string[],
    )
    .option("-i, --interactive", "ask for required inputs still missing (secrets without echo)");
}

/** `--cache-to` and `--cache-from`: build cache entries in buildx's syntax. */
export function cacheFlags(command: Command): Command {
  return command
    .option(
      "--cache-to <entry>",
      "export build cache, e.g. type=registry,ref=host/app:cache,mode=max (repeatable)",
      repeatable,
      [] as string[],
    )
    .option(
      "--cache-from <entry>",
      "import build cache, e.g. type=registry,ref=host/app:cache (repeatable)",
      repeatable,
      [] as string[],
    );
}

/** Build progress on stderr in the format the user chose, secrets redacted. */
export function progressFor(
  mode: "auto" | "tty" | "plain" | "json" | "quiet",
  ctx: CliContext,
): ProgressRenderer {
  return createProgress({
    mode,
    stream: ctx.stderr,
    env: ctx.env,
    now: ctx.now,
    isTTY: ctx.stderr.isTTY === true,
    scrub: (t) => ctx.redactor.scrub(t),
  });
}
