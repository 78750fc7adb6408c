/**
 * Rewrites test/api/testdata/public-surface.json from the entry points' sources.
 * Run: npx tsx test/api/regenerate.ts, then review the diff: every line is public API.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { publicSurface, surfaceNames } from "./surface.js";

const dir = new URL("./testdata/", import.meta.url);
mkdirSync(dir, { recursive: true });
const text = `${JSON.stringify(surfaceNames(publicSurface()), null, 2)}\n`;
writeFileSync(new URL("public-surface.json", dir), text);
console.log(text);
