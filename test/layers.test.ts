/**
 * Layers point one way: a file under src/ imports only from its own layer and the layers
 * before it, so that the rule lives in a test rather than in prose alone. The order is
 * `layers` below; the README states the same order and a case checks that they agree.
 *
 * Where the files outside the layer folders sit:
 * - src/errors.ts, duration.ts, file-reason.ts, make-directories.ts, replace-file.ts are the
 *   root modules: every layer may use them, and they import only one another (and node:).
 * - src/index.ts, the package entry (`import ... from "hln"`), sits at the stack layer: it
 *   holds what a stack and a program driving the graph need, and the stack loader binds a
 *   stack's "hln" to exactly it (src/stack/load-stack.ts). So it can never grow an export
 *   from app, ui or cli by accident.
 * - src/gen (generated from src/proto) is the first layer; its own files are not checked.
 * Imports that leave src/ (tests beside the code reaching test/helpers) are not layered.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { repoRoot } from "./helpers/run-cli.js";

/** The layers, first to last; folders in one entry are one layer. */
export const layers: readonly (readonly string[])[] = [
  ["proto", "gen"],
  ["llb"],
  ["transport"],
  ["docker"],
  ["buildkit"],
  ["engine"],
  ["sdk"],
  ["stack"],
  ["app"],
  ["ui"],
  ["cli"],
];

const rootModules = new Set([
  "errors.ts",
  "duration.ts",
  "file-reason.ts",
  "make-directories.ts",
  "replace-file.ts",
]);

/** Root files that sit in a layer rather than below all of them. */
const placedRootFiles: Record<string, string> = { "index.ts": "stack" };

/** Generated: checked by their generator, not here. */
const generated = (path: string) => path.startsWith(`gen${sep}`);

const src = join(repoRoot, "src");

/** -1 for a root module; the layer's index otherwise; undefined outside src/. */
function rankOf(pathInSrc: string): number | undefined {
  if (pathInSrc.startsWith("..")) return undefined;
  const parts = pathInSrc.split(sep);
  // A root module's test sits with its module.
  const top = (parts[0] ?? "").replace(/\.test\.ts$/, ".ts");
  if (parts.length === 1) {
    if (rootModules.has(top)) return -1;
    const placed = placedRootFiles[top];
    if (placed) return layers.findIndex((l) => l.includes(placed));
    // Named so that a new root file gets a decision instead of a silent pass.
    throw new Error(`src/${top} is in no layer: add it to rootModules or placedRootFiles`);
  }
  const i = layers.findIndex((l) => l.includes(top));
  if (i < 0) throw new Error(`src/${top}/ is in no layer: add it to layers`);
  return i;
}

const layerName = (rank: number) => (rank < 0 ? "root" : layers[rank]!.join("/"));

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  message: string;
}

/** The imports of `text` (static, re-exports, dynamic with a literal) that break the order. */
export function violations(fileInSrc: string, text: string): Violation[] {
  const from = rankOf(fileInSrc);
  if (from === undefined) return [];
  const info = ts.preProcessFile(text, true, true);
  const found: Violation[] = [];
  for (const ref of info.importedFiles) {
    const specifier = ref.fileName;
    if (!specifier.startsWith(".")) continue;
    const target = relative(src, resolve(join(src, dirname(fileInSrc)), specifier)).replace(
      /\.js$/,
      ".ts",
    );
    const to = rankOf(target);
    if (to === undefined) continue;
    const allowed = from < 0 ? to < 0 : to <= from;
    if (allowed) continue;
    const line = text.slice(0, ref.pos).split("\n").length;
    found.push({
      file: `src/${fileInSrc}`,
      line,
      specifier,
      message: `src/${fileInSrc}:${line} (${layerName(from)}) imports "${specifier}" (${layerName(to)}), a layer above it`,
    });
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name))
    .map((e) => relative(src, join(e.parentPath, e.name)))
    .filter((f) => !generated(f))
    .sort();
}

describe("layers", () => {
  it("no file under src/ imports from a layer above its own", () => {
    const files = sourceFiles(src);
    assert.ok(files.length > 100, `only ${files.length} files found under ${src}`);
    const found = files.flatMap((f) => violations(f, readFileSync(join(src, f), "utf8")));
    assert.deepEqual(
      found.map((v) => v.message),
      [],
    );
  });

  it("the README states the same order", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const sentence = /Layers and their rules:([^;]*);/.exec(readme)?.[1];
    assert.ok(sentence, "README.md has no 'Layers and their rules:' line");
    const named = [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/^src\//, ""));
    assert.deepEqual(named, layers.flat());
  });

  it("finds a violation in each form of import, naming the file, line and import", () => {
    const text = [
      'import { HlnError } from "../errors.js";',
      'import { exec } from "../llb/index.js";',
      'import type { Dag } from "../sdk/dag.js";',
      'export { runUp } from "../app/up.js";',
      'const later = () => import("../cli/main.js");',
      'import { defineStack } from "../index.js";',
    ].join("\n");
    assert.deepEqual(
      violations(join("buildkit", "x.ts"), text).map((v) => [v.file, v.line, v.specifier]),
      [
        ["src/buildkit/x.ts", 3, "../sdk/dag.js"],
        ["src/buildkit/x.ts", 4, "../app/up.js"],
        ["src/buildkit/x.ts", 5, "../cli/main.js"],
        ["src/buildkit/x.ts", 6, "../index.js"],
      ],
    );
    assert.match(
      violations(join("buildkit", "x.ts"), text)[0]!.message,
      /^src\/buildkit\/x\.ts:3 \(buildkit\) imports "\.\.\/sdk\/dag\.js" \(sdk\), a layer above it$/,
    );
  });

  it("root modules import only one another; the package entry nothing above stack", () => {
    assert.deepEqual(
      violations("errors.ts", 'import { x } from "./llb/index.js";').map((v) => v.specifier),
      ["./llb/index.js"],
    );
    assert.deepEqual(violations("duration.ts", 'import { x } from "./errors.js";'), []);
    assert.deepEqual(
      violations(
        "index.ts",
        'export { a } from "./sdk/dag.js";\nexport { b } from "./ui/x.js";',
      ).map((v) => v.specifier),
      ["./ui/x.js"],
    );
    assert.deepEqual(
      violations(join("stack", "load-stack.ts"), 'await import("../index.js");'),
      [],
    );
  });

  it("a file in no layer is named rather than passed", () => {
    assert.throws(() => violations("new-root.ts", ""), /src\/new-root\.ts is in no layer/);
    assert.throws(() => violations(join("widgets", "a.ts"), ""), /src\/widgets\/ is in no layer/);
  });
});
