/**
 * The flags every command that runs a stack takes (`hln do`, `hln up`), written once so
 * their names, help and parsing cannot drift apart, and the progress display they share.
 */
import type { Command } from "commander";
import type { LedgerHit } from "../sdk/ledger.js";
import type { RunActionOptions } from "../stack/run-action.js";
import { createProgress } from "../ui/create-progress.js";
import { ledgerEvent, ledgerLine } from "../ui/ledger-note.js";
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
    )
    .option(
      "--no-ledger",
      "run every request on the engine, even one whose inputs are unchanged since the last run (also HLN_NO_LEDGER=1)",
    );
}

/**
 * The ledger for a run (see DagOptions.ledger), unless --no-ledger, --no-cache or
 * HLN_NO_LEDGER=1 turn it off; what it answers is counted for the line at the end.
 */
export function ledgerFor(
  o: { ledger?: boolean; noCache?: boolean },
  ctx: CliContext,
  progress: RunProgress,
): RunActionOptions["ledger"] {
  if (o.ledger === false || o.noCache || ctx.env.HLN_NO_LEDGER === "1") return undefined;
  return { onHit: progress.onLedgerHit };
}

/** Run progress that also tells, at its end, how many results came from the ledger. */
export interface RunProgress extends ProgressRenderer {
  readonly onLedgerHit: (hit: LedgerHit) => void;
}

/** Build progress on stderr in the format the user chose, secrets redacted. */
export function progressFor(
  mode: "auto" | "tty" | "plain" | "json" | "quiet",
  ctx: CliContext,
): RunProgress {
  const inner = createProgress({
    mode,
    stream: ctx.stderr,
    env: ctx.env,
    now: ctx.now,
    isTTY: ctx.stderr.isTTY === true,
    scrub: (t) => ctx.redactor.scrub(t),
  });
  let hits = 0;
  let since = 0;
  let ended = false;
  return {
    update: (status) => inner.update(status),
    onLedgerHit: (hit) => {
      hits++;
      since = Math.max(since, hit.recordedAt);
    },
    end: (summary) => {
      if (ended) return;
      ended = true;
      const told = hits > 0 && !summary?.error;
      // JSON keeps its summary last; text comes after the display has finished drawing.
      if (told && mode === "json") ctx.stderr.write(`${ledgerEvent(hits, since)}\n`);
      inner.end(summary);
      if (told && mode !== "json" && mode !== "quiet")
        ctx.stderr.write(`${ledgerLine(hits, since)}\n`);
    },
  };
}
