#!/usr/bin/env node
// Runs the built CLI when there is one, else the TypeScript sources through tsx, so a
// checkout works without a build step.
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/main.js", import.meta.url);
let mod;
if (existsSync(built)) {
  mod = await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  mod = await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
const code = await mod.main(process.argv.slice(2));
// Let stdout drain, then leave even if a stray handle is still open.
process.exitCode = code;
setTimeout(() => process.exit(code), 200).unref();
