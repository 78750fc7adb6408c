#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci` and `npm test`), or the TypeScript
// sources through tsx when dist/ is missing or older than src/, so an edited checkout
// never runs stale code.
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli/main.js", import.meta.url);
const src = fileURLToPath(new URL("../src/", import.meta.url));

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function fresh() {
  const builtAt = mtime(built);
  if (builtAt < 0) return false;
  let entries;
  try {
    entries = readdirSync(src, { recursive: true });
  } catch {
    return true; // an installed package ships dist/ only
  }
  return entries.every((f) => !f.endsWith(".ts") || mtime(src + f) <= builtAt);
}

let mod;
if (fresh()) {
  mod = await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  mod = await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
const code = await mod.main(process.argv.slice(2));
process.exitCode = code;
// Let output drain, then leave even if a stray handle is still open.
setTimeout(() => process.exit(code), 200).unref();
