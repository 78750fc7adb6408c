import { scaffoldStack } from "../../stack/scaffold.js";
import { shellWord } from "../../ui/shell-word.js";
import type { CliContext } from "../context.js";

/** What each file of a new stack is for, as `hln init` lists them. */
const purposes: Record<string, string> = {
  "stack.ts": "the stack: its inputs and its up action",
  "package.json": "npm run up, npm run typecheck",
  "tsconfig.json": "lets an editor type-check stack.ts with no npm install",
  "README.md": "how to run it, edit it and add inputs",
  ".gitignore": "",
};

export async function runInit(
  dir: string | undefined,
  o: { name?: string },
  ctx: CliContext,
): Promise<void> {
  const shown = dir ?? ".";
  const result = await scaffoldStack({ directory: shown, name: o.name, signal: ctx.signal });
  const width = Math.max(...result.files.map((f) => f.length));
  const lines = [`Wrote stack "${result.name}" in ${result.directory}:`];
  for (const f of result.files) lines.push(`  ${f.padEnd(width)}  ${purposes[f] ?? ""}`.trimEnd());
  const where = shellWord(shown);
  const next = [
    [`hln do up --dir ${where}`, "run it"],
    [`hln show --dir ${where}`, "its inputs and actions"],
  ] as const;
  const cw = Math.max(...next.map(([c]) => c.length));
  lines.push("Next:", ...next.map(([c, what]) => `  ${c.padEnd(cw)}  ${what}`));
  ctx.stdout.write(`${lines.join("\n")}\n`);
}
