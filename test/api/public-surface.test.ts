/**
 * The package's public surface is a decision, not a side effect: each entry point's sorted
 * export names are recorded in testdata/public-surface.json, so an export added or lost by
 * accident fails here. After a deliberate change, regenerate and review the diff:
 *   npx tsx test/api/regenerate.ts
 * And every public function and class shows how it is called, in an @example.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../helpers/run-cli.js";
import { entryPoints, publicSurface, surfaceNames } from "./surface.js";

const golden = JSON.parse(
  readFileSync(new URL("./testdata/public-surface.json", import.meta.url), "utf8"),
) as Record<string, string[]>;

describe("the public API", () => {
  const surface = publicSurface();

  it("each entry point exports exactly the recorded names", () => {
    assert.deepEqual(surfaceNames(surface), golden);
  });

  it("package.json exports each entry point, types beside the code", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      exports: Record<string, { types: string; import: string }>;
    };
    const expected = Object.fromEntries(
      Object.entries(entryPoints).map(([key, file]) => {
        const built = file.replace(/^src\//, "./dist/").replace(/\.ts$/, "");
        return [key, { types: `${built}.d.ts`, import: `${built}.js` }];
      }),
    );
    assert.deepEqual(pkg.exports, expected);
  });

  it("every exported function and class has an @example in its doc comment", () => {
    const missing = Object.entries(surface).flatMap(([entry, names]) =>
      names
        .filter((n) => (n.kind === "function" || n.kind === "class") && !n.tags.includes("example"))
        .map((n) => `${entry}: ${n.name}`),
    );
    assert.deepEqual(missing, []);
  });

  it("nothing marked @internal is exported", () => {
    const internal = Object.entries(surface).flatMap(([entry, names]) =>
      names.filter((n) => n.tags.includes("internal")).map((n) => `${entry}: ${n.name}`),
    );
    assert.deepEqual(internal, []);
  });
});
