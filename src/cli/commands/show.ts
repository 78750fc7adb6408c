import { HlnError } from "../../errors.js";
import { locateStack } from "../../stack/catalogue.js";
import { parseStackRef } from "../../stack/stack-ref.js";
import { describeStack, formatStackDescription } from "../../ui/stack-description.js";
import type { CliContext } from "../context.js";
import { formatData, parseOutputFormat } from "../output.js";

/** Columns for text when stdout is not a terminal that says its width. */
export const defaultWidth = 100;

export function outputWidth(ctx: CliContext): number {
  const columns = ctx.stdout.isTTY ? ctx.stdout.columns : undefined;
  return columns && columns > 0 ? columns : defaultWidth;
}

export async function runShow(
  stack: string | undefined,
  o: { dir?: string; output?: string },
  ctx: CliContext,
): Promise<void> {
  // Flags are checked before any stack is loaded (or installed from npm).
  const format = o.output === undefined ? undefined : parseOutputFormat(o.output);
  if (stack !== undefined && o.dir !== undefined)
    throw new HlnError("E_USAGE", `show: give STACK or --dir ${o.dir}, not both`);
  if (stack === undefined && o.dir === undefined)
    throw new HlnError(
      "E_USAGE",
      "show: missing STACK: a name such as hello, npm:PACKAGE, or --dir DIR (see hln list stacks)",
    );
  const ref = o.dir !== undefined ? parseStackRef(o.dir, "--dir") : parseStackRef(stack!, "show");
  const located = await locateStack(ref, {
    env: ctx.env,
    signal: ctx.signal,
    onProgress: (line) => ctx.stderr.write(`hln: ${line}\n`),
  });
  const description = describeStack(located);
  ctx.stdout.write(
    format
      ? formatData(description, format)
      : formatStackDescription(description, outputWidth(ctx)),
  );
}
