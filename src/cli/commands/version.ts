import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function hlnVersion(): string {
  const pkg = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("print hln's version")
    .action(() => {
      ctx.stdout.write(
        `hln ${hlnVersion()} (node ${process.versions.node}, ${process.platform}/${process.arch})\n`,
      );
    });
}
