/**
 * Rewrites src/llb/testdata/golden/<case>.json from golden-cases.ts.
 * Run: npx tsx src/llb/testdata/regenerate.ts
 * Review the diff before committing: every changed digest is a wire-format change.
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { computeGolden } from "./golden.js";
import { goldenCases } from "./golden-cases.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "golden");
mkdirSync(dir, { recursive: true });
for (const file of readdirSync(dir)) {
  if (file.endsWith(".json") && !(file.slice(0, -5) in goldenCases)) rmSync(join(dir, file));
}
for (const [name, c] of Object.entries(goldenCases)) {
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(computeGolden(c), null, 2)}\n`);
  console.log(`wrote golden/${name}.json`);
}
// Leave the files as the repo's formatter wants them, so `biome check` stays clean.
const biome = join(dir, "../../../../node_modules/.bin/biome");
execFileSync(biome, ["format", "--write", dir], { stdio: "inherit" });
