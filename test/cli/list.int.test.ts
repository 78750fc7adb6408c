import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertOneLineError, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

/** An empty cache of npm stacks, so only the bundled ones are listed. */
const cache = tempDir("hln-list-cache-");
const env = { XDG_CACHE_HOME: cache };

/** What the cache holds besides compiled stacks (loading a stack compiles it, once). */
const written = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (p) => p !== "hln" && !p.startsWith(join("hln", "stack-bundles")),
  );

describe("hln list", () => {
  it("lists the bundled stacks as a table and as JSON", async () => {
    const r = await runCli(["list", "stacks"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    assert.match(header!, /^NAME +VERSION +SOURCE +DESCRIPTION$/);
    assert.ok(
      rows.some((l) => /^hello +0\.1\.0 +bundled +\S/.test(l)),
      r.stdout,
    );

    const json = await runCli(["list", "stacks", "--output", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const hello = JSON.parse(json.stdout).find((s: { name: string }) => s.name === "hello");
    assert.deepEqual(Object.keys(hello), [
      "name",
      "version",
      "source",
      "reference",
      "description",
      "tags",
    ]);
    assert.equal(hello.reference, "hello@0.1.0");
    assert.deepEqual(written(cache), [], "listing writes nothing but compiled stacks");
  });

  it("says what to list in one line", async () => {
    assertOneLineError(
      await runCli(["list"], { env }),
      /^hln: error: list: say what to list: hln list stacks or hln list apps$/,
    );
    assertOneLineError(
      await runCli(["list", "stack"], { env }),
      /^hln: error: list stack: unknown; hln list stacks lists the stacks, hln list apps the apps$/,
    );
    assertOneLineError(
      await runCli(["list", "stacks", "-o", "table"], { env }),
      /^hln: error: --output table: expected yaml or json$/,
    );
  });
});
