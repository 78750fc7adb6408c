/**
 * The public surface of hln's package entry points, read with the TypeScript compiler from
 * the sources: the names each entry exports, and the doc comment of each.
 */
import { join } from "node:path";
import ts from "typescript";
import { repoRoot } from "../helpers/run-cli.js";

/** package.json "exports" key -> the source file its types are built from. */
export const entryPoints: Record<string, string> = {
  ".": "src/index.ts",
  "./stack": "src/stack/public.ts",
  "./buildkit": "src/buildkit/public.ts",
  "./llb": "src/llb/public.ts",
};

export interface ExportedName {
  name: string;
  /** "function", "class", "value", "type" or "namespace". */
  kind: string;
  /** Tags of its doc comment (`example`, `internal` ...); of the first declaration. */
  tags: string[];
}

function kindOf(symbol: ts.Symbol): string {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Function) return "function";
  if (f & ts.SymbolFlags.Class) return "class";
  if (f & ts.SymbolFlags.ValueModule) return "namespace";
  if (f & ts.SymbolFlags.Value) return "value";
  return "type";
}

/** Every entry point's exports, sorted by name. */
export function publicSurface(): Record<string, ExportedName[]> {
  const files = Object.values(entryPoints).map((f) => join(repoRoot, f));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ["node"],
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const out: Record<string, ExportedName[]> = {};
  for (const [key, file] of Object.entries(entryPoints)) {
    const source = program.getSourceFile(join(repoRoot, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${file}: not found or not a module`);
    out[key] = checker
      .getExportsOfModule(moduleSymbol)
      .map((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        const tags = target.getJsDocTags(checker).map((t) => t.name);
        return { name: s.name, kind: kindOf(target), tags };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return out;
}

/** Each entry point's names, `type ` before those that exist only as types. */
export function surfaceNames(surface: Record<string, ExportedName[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(surface).map(([entry, names]) => [
      entry,
      names.map((n) => (n.kind === "type" ? `type ${n.name}` : n.name)),
    ]),
  );
}
