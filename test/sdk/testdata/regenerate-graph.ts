/**
 * Rewrites test/sdk/testdata/graph/<case>.json from graph-cases.ts.
 * Run: npx tsx test/sdk/testdata/regenerate-graph.ts, then review the diff: a changed op
 * is a changed graph, and a changed digest a cache miss for every user.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compiled, graphCases } from "./graph-cases.js";
import { graphKit, renderGraph } from "./graph-kit.js";

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, "graph");
mkdirSync(dir, { recursive: true });
for (const file of readdirSync(dir))
  if (file.endsWith(".json") && !(file.slice(0, -5) in graphCases)) rmSync(join(dir, file));
for (const [name, c] of Object.entries(graphCases)) {
  const { output, path } = compiled(c.build(graphKit()).result);
  const { golden } = renderGraph(output, path);
  writeFileSync(
    join(dir, `${name}.json`),
    `${JSON.stringify({ chain: c.chain, ...golden }, null, 2)}\n`,
  );
  console.log(`wrote graph/${name}.json`);
}
// As the repository's formatter leaves them, so `biome check` stays clean.
execFileSync(join(here, "../../../node_modules/.bin/biome"), ["format", "--write", dir], {
  stdio: "inherit",
});
