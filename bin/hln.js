#!/usr/bin/env node
// Runs the bundled CLI (dist/bundle/, made by `npm run build`), or the TypeScript sources
// through tsx in a checkout where a file the bundle was made from changed since, so an
// edited checkout never runs stale code. An installed package has no src/ and checks
// nothing.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/bundle/hln.mjs", import.meta.url);
const root = fileURLToPath(new URL("../", import.meta.url));

function fresh() {
  // An installed package: what it ships is what it runs.
  if (!statSync(`${root}src`, { throwIfNoEntry: false })) return true;
  let inputs;
  try {
    // Written by scripts/bundle-cli.mjs: when it started, and every file it read. A file
    // added since matters only once an edited one imports it, which changes that one.
    inputs = JSON.parse(readFileSync(`${root}dist/bundle/inputs.json`, "utf8"));
  } catch {
    return false;
  }
  // A file gone (renamed, deleted) is a change too.
  return inputs.files.every((f) => {
    const st = statSync(root + f, { throwIfNoEntry: false });
    return st !== undefined && st.mtimeMs <= inputs.startedAt;
  });
}

let mod;
if (fresh()) {
  mod = await import(bundle.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  mod = await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
const code = await mod.main(process.argv.slice(2));
process.exitCode = code;
// Let output drain, then leave even if a stray handle is still open.
setTimeout(() => process.exit(code), 200).unref();
