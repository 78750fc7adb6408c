/**
 * The CLI's words stay in the CLI: below src/cli, no string a message could be made of
 * names a command-line flag (`--tlscacert`) or one of hln's own variables
 * (`HLN_SILENCE_TIMEOUT`). An error says what fixes it as data (`HlnError.remedy`, a
 * `Setting`), and the CLI names it as the user gave it (src/cli/setting-words.ts), so a
 * library user never reads a flag. BUILDKIT_* and DOCKER_* are not checked: the engine
 * layer reads those variables itself (as buildctl and the Docker CLI do), so naming the
 * one a bad value came from is naming the library's own input.
 *
 * Strings are found with the TypeScript parser (literals and template text, comments
 * left out). The allowlist holds each file's legitimate uses, with the reason.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { repoRoot } from "./helpers/run-cli.js";

const lowerLayers = ["transport", "docker", "buildkit", "engine", "sdk", "stack", "app", "llb"];

/** A flag as a CLI spells it: two dashes, a letter; or one of hln's own variables. */
const cliWord = /(?<![\w-])--[a-z][a-z-]*|\bHLN_[A-Z_]+/g;

/** Uses that are not the CLI's words, by file (relative to src/) and the word. */
const allowed: Record<string, { words: RegExp; why: string }> = {
  "stack/npm-install.ts": { words: /^--/, why: "npm's own command line, run by hln" },
  "engine/dial-docker-host.ts": { words: /^--host$/, why: "the docker CLI's argv, run by hln" },
  "stack/scaffold.ts": {
    words: /^--/,
    why: "the README and scripts `hln init` writes tell the user which commands to run",
  },
  "stack/inputs.ts": {
    words: /^--set$/,
    why: "stack inputs arrive as `--set key=value` strings, the grammar this file parses",
  },
  "stack/validate-stack.ts": { words: /^--set$/, why: "see stack/inputs.ts" },
  "stack/stack-ref.ts": {
    words: /^--(dir|set)$/,
    why: "parses the stack reference the CLI was given (-s, --dir)",
  },
  "stack/catalogue.ts": { words: /^--dir$/, why: "suggests the CLI's stack reference" },
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== "testdata") out.push(...sources(p));
    else if (e.isFile() && p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

/** Every string literal's and template's text in a file. */
function strings(file: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      // Import specifiers are module names, not words.
      if (!ts.isImportDeclaration(node.parent) && !ts.isExportDeclaration(node.parent))
        found.push({
          text: node.text,
          line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
        });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The CLI words in the strings of the lower layers, as `file:line: word`. */
export function cliWordsBelowCli(root: string): string[] {
  const src = join(root, "src");
  const hits: string[] = [];
  for (const layer of lowerLayers)
    for (const file of sources(join(src, layer))) {
      const name = relative(src, file);
      for (const { text, line } of strings(file))
        for (const [word] of text.matchAll(cliWord)) {
          if (allowed[name]?.words.test(word)) continue;
          hits.push(`${name}:${line}: ${word}`);
        }
    }
  return hits;
}

describe("the CLI's words stay in the CLI", () => {
  it("no lower-layer string names a CLI flag or an HLN_ variable", () => {
    assert.deepEqual(cliWordsBelowCli(repoRoot), []);
  });

  it("finds a flag in a message, and leaves comments alone", () => {
    const at = (text: string) => [...text.matchAll(cliWord)].map((m) => m[0]);
    assert.deepEqual(at("set BUILDKIT_TLS_CA or --tlscacert"), ["--tlscacert"]);
    assert.deepEqual(at("HLN_SILENCE_TIMEOUT sets how long"), ["HLN_SILENCE_TIMEOUT"]);
    assert.deepEqual(at("a-- b, x--y, ---"), []);
  });
});
