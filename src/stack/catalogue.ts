/**
 * Where stacks come from: bundled with hln (`stacks/` in the package), installed from npm
 * into hln's cache, or a directory. An npm stack is installed once; its reference, exact
 * version and stack metadata are recorded in the cache's index, so later runs with the
 * same reference, `npm:PKG@<that version>` or the stack's name load it from disk without
 * running npm or touching the network (Heighliner downloaded its stacks on every run).
 *
 * The index is a directory with one small JSON file per reference, each written whole
 * (temp, fsync, rename): concurrent installs of different references cannot lose each
 * other's entries the way a shared read-modify-write file would.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { HlnError } from "../errors.js";
import { makeDirectories } from "../make-directories.js";
import { replaceFile } from "../replace-file.js";
import type { Stack } from "./define-stack.js";
import { expandHome } from "./expand-home.js";
import { loadStack, notAStack } from "./load-stack.js";
import { npmInstall, removeInstall } from "./npm-install.js";
import { type StackRef, splitNpmSpec } from "./stack-ref.js";

export interface CatalogueOptions {
  /** Default `process.env`: XDG_CACHE_HOME, HOME, PATH and npm's `npm_config_*`. */
  env?: NodeJS.ProcessEnv;
  /** Directory that relative paths are resolved against. Default `process.cwd()`. */
  cwd?: string;
  /** Default: `<package root>/stacks`, from the sources (tsx) as from `dist/`. */
  bundledDirectory?: string;
  /** Default: `$XDG_CACHE_HOME/hln/stacks`, else `~/.cache/hln/stacks`. */
  cacheDirectory?: string;
  signal?: AbortSignal;
  /** Told what takes time, e.g. `installing npm:@acme/shop@^1 into ~/.cache/hln/stacks ...`. */
  onProgress?: (line: string) => void;
}

export interface LocatedStack {
  /** Loaded and validated. */
  stack: Stack;
  /** Absolute path of the stack module. */
  file: string;
  /** Its directory. */
  directory: string;
  source: "bundled" | "npm" | "local";
  /** Canonical: `hello@0.1.0`, `npm:@acme/shop@1.2.3`, or the absolute directory. */
  reference: string;
  /** npm stacks: the package and the exact version installed. */
  package?: { name: string; version: string };
}

export interface StackListing {
  name: string;
  version: string;
  source: "bundled" | "npm";
  description?: string;
  tags?: readonly string[];
  reference: string;
}

/** One file of the index: what an npm reference resolved to when it was installed. */
interface IndexRecord {
  /** As the user gave it: `npm:@acme/shop@^1`. */
  reference: string;
  package: { name: string; version: string };
  /** The installed version's directory, relative to the cache. */
  directory: string;
  /** The stack module, relative to the cache. */
  file: string;
  stack: { name: string; version: string; description?: string; tags?: readonly string[] };
}

const indexDirectoryName = "index";

/** `<package root>/stacks`: this file is src/stack/catalogue.ts or dist/stack/catalogue.js. */
function defaultBundledDirectory(): string {
  return fileURLToPath(new URL("../../stacks", import.meta.url));
}

export function defaultCacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache");
  return join(base, "hln", "stacks");
}

function settings(options: CatalogueOptions) {
  const env = options.env ?? process.env;
  return {
    env,
    cwd: options.cwd ?? process.cwd(),
    bundled: options.bundledDirectory ?? defaultBundledDirectory(),
    cache: options.cacheDirectory ?? defaultCacheDirectory(env),
  };
}

/**
 * Finds and loads the stack a reference names.
 *
 * @example
 * const found = await locateStack(parseStackRef("npm:@acme/shop@^1"));
 * found.reference; // "npm:@acme/shop@1.4.2", installed once, from the cache after that
 */
export async function locateStack(
  ref: StackRef,
  options: CatalogueOptions = {},
): Promise<LocatedStack> {
  options.signal?.throwIfAborted();
  switch (ref.kind) {
    case "directory":
      return locateDirectory(ref.path, options);
    case "npm":
      return locateNpm(ref.spec, options);
    case "catalogue":
      return locateByName(ref.name, ref.version, options);
  }
}

async function locateDirectory(path: string, options: CatalogueOptions): Promise<LocatedStack> {
  const { env, cwd } = settings(options);
  const home = env.HOME || homedir();
  const expanded = expandHome(path, home);
  const { file, stack } = await loadStack(resolve(cwd, expanded), { env });
  return { stack, file, directory: dirname(file), source: "local", reference: dirname(file) };
}

async function locateNpm(spec: string, options: CatalogueOptions): Promise<LocatedStack> {
  const { env, cache } = settings(options);
  const reference = `npm:${spec}`;
  const records = await readIndex(cache);
  const { name, range } = splitNpmSpec(spec);
  const known =
    records.find((r) => r.reference === reference) ??
    records.find((r) => r.package.name === name && r.package.version === range);
  if (known) {
    const located = await fromRecord(known, cache);
    if (located) {
      if (known.reference !== reference) await writeRecord(cache, { ...known, reference });
      return located;
    }
  }
  options.onProgress?.(`installing ${reference} into ${shownHome(cache, env)} ...`);
  const pkg = await npmInstall(spec, { cacheDirectory: cache, env, signal: options.signal });
  const file = await stackModule(pkg.packageDirectory, reference);
  let stack: Stack;
  try {
    ({ stack } = await loadStack(file, { env }));
  } catch (err) {
    // Only the run that put it there takes it out: a copy that another run installed is
    // that run's to judge.
    if (pkg.created) await removeInstall(pkg.directory);
    const why = err instanceof Error ? err.message : String(err);
    const shown = `npm:${pkg.name}@${pkg.version}`;
    const module = relative(pkg.packageDirectory, file);
    throw new HlnError(
      "E_STACK_INVALID",
      why.includes(notAStack)
        ? `${shown} is not a stack: its module ${module} does not default-export one (export default defineStack({...}))`
        : `${shown}: its stack ${module} does not load: ${why}`,
      { cause: err },
    );
  }
  const record: IndexRecord = {
    reference,
    package: { name: pkg.name, version: pkg.version },
    directory: relative(cache, pkg.directory),
    file: relative(cache, file),
    stack: {
      name: stack.name,
      version: stack.version,
      ...(stack.description === undefined ? {} : { description: stack.description }),
      ...(stack.tags === undefined ? {} : { tags: [...stack.tags] }),
    },
  };
  await writeRecord(cache, record);
  return npmLocated(stack, file, record);
}

function npmLocated(stack: Stack, file: string, record: IndexRecord): LocatedStack {
  return {
    stack,
    file,
    directory: dirname(file),
    source: "npm",
    reference: `npm:${record.package.name}@${record.package.version}`,
    package: { ...record.package },
  };
}

/** Loads a recorded stack, or undefined when its directory has gone from the cache. */
async function fromRecord(record: IndexRecord, cache: string): Promise<LocatedStack | undefined> {
  const file = join(cache, record.file);
  if (!existsSync(file)) return undefined;
  const { stack } = await loadStack(file);
  return npmLocated(stack, file, record);
}

/**
 * The module a package offers as its stack: its ESM entry (`exports["."]` import or
 * default, else `module`, else `main`), else `stack.ts` at its root, else npm's implied
 * `index.js`.
 */
async function stackModule(packageDirectory: string, reference: string): Promise<string> {
  let manifest: Record<string, unknown> = {};
  try {
    manifest = JSON.parse(await readFile(join(packageDirectory, "package.json"), "utf8"));
  } catch {
    // npm installed it, so it has one; a broken one leaves only stack.ts to try.
  }
  const candidates = [
    esmEntry(manifest.exports),
    manifest.module,
    manifest.main,
    "stack.ts",
    "index.js",
  ];
  for (const c of candidates) {
    if (typeof c !== "string" || c === "") continue;
    const file = resolve(packageDirectory, c);
    // Only a module inside the package: "../other@1.0.0/x" shares the prefix, not the folder.
    if (file.startsWith(`${packageDirectory}${sep}`) && existsSync(file)) return file;
  }
  throw new HlnError(
    "E_STACK_INVALID",
    `${reference}: the package has no module to load (package.json exports, module or main, or stack.ts)`,
  );
}

function esmEntry(exports: unknown): string | undefined {
  if (typeof exports === "string") return exports;
  if (typeof exports !== "object" || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  const root =
    "." in map ? map["."] : Object.keys(map).some((k) => k.startsWith(".")) ? undefined : map;
  if (typeof root === "string") return root;
  if (typeof root !== "object" || root === null) return undefined;
  const conditions = root as Record<string, unknown>;
  for (const key of ["import", "default", "node"]) {
    const found = esmEntry(conditions[key]);
    if (found) return found;
  }
  return undefined;
}

async function locateByName(
  name: string,
  version: string | undefined,
  options: CatalogueOptions,
): Promise<LocatedStack> {
  const { bundled, cache } = settings(options);
  const versions: string[] = [];
  for (const found of await bundledStacks(bundled, name)) {
    if (found.stack.name !== name) continue;
    if (version === undefined || found.stack.version === version) return found;
    versions.push(`${found.stack.version} (bundled)`);
  }
  const records = (await readIndex(cache)).filter(
    (r) => r.stack.name === name || r.package.name === name,
  );
  const matching = records
    .filter(
      (r) => version === undefined || r.stack.version === version || r.package.version === version,
    )
    .sort((a, b) => compareVersions(b.package.version, a.package.version));
  for (const r of matching) {
    const located = await fromRecord(r, cache);
    if (located) return located;
  }
  for (const r of records)
    versions.push(`${r.stack.version} (npm:${r.package.name}@${r.package.version})`);
  if (versions.length > 0)
    throw new HlnError(
      "E_USAGE",
      `stack ${name} has no version ${version}; versions: ${[...new Set(versions)].join(", ")}`,
    );
  const names = [...new Set((await listStacks(options)).map((s) => s.name))];
  // `-s myapp` where ./myapp is the stack the user means: a name is never a path.
  const here = existsSync(join(settings(options).cwd, name, "stack.ts"))
    ? `; ./${name} is a stack here: -s ./${name} or --dir ${name}`
    : "";
  throw new HlnError(
    "E_USAGE",
    `no stack named ${name}; stacks: ${names.length > 0 ? names.join(", ") : "none"} (see \`hln list stacks\`; npm:PACKAGE installs one from npm)${here}`,
  );
}

/**
 * The bundled stacks, loaded; the directory named `first` comes first, so a lookup by name
 * usually loads one stack only (its name is checked all the same).
 */
async function bundledStacks(bundled: string, first?: string): Promise<LocatedStack[]> {
  let names: string[];
  try {
    names = (await readdir(bundled, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && existsSync(join(bundled, d.name, "stack.ts")))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
  if (first !== undefined && names.includes(first))
    names = [first, ...names.filter((n) => n !== first)];
  const found: LocatedStack[] = [];
  for (const n of names) {
    const { file, stack } = await loadStack(join(bundled, n));
    const located: LocatedStack = {
      stack,
      file,
      directory: dirname(file),
      source: "bundled",
      reference: `${stack.name}@${stack.version}`,
    };
    if (first !== undefined && stack.name === first) return [located];
    found.push(located);
  }
  return found;
}

/** A listing row from what a stack says of itself; absent fields stay absent. */
function listing(
  stack: Pick<StackListing, "name" | "version" | "description" | "tags">,
  source: StackListing["source"],
  reference: string,
): StackListing {
  return {
    name: stack.name,
    version: stack.version,
    source,
    ...(stack.description === undefined ? {} : { description: stack.description }),
    ...(stack.tags === undefined ? {} : { tags: stack.tags }),
    reference,
  };
}

/**
 * The stacks `-s NAME` can name: bundled ones (loaded) and those cached from npm (read
 * from the index, their code not loaded), by name then newest version first.
 *
 * @example
 * for (const s of await listStacks()) console.log(s.name, s.version, s.source);
 */
export async function listStacks(options: CatalogueOptions = {}): Promise<StackListing[]> {
  options.signal?.throwIfAborted();
  const { bundled, cache } = settings(options);
  const out: StackListing[] = [];
  for (const b of await bundledStacks(bundled)) {
    out.push(listing(b.stack, "bundled", b.reference));
  }
  const seen = new Set<string>();
  for (const r of await readIndex(cache)) {
    if (seen.has(r.directory) || !existsSync(join(cache, r.file))) continue;
    seen.add(r.directory);
    out.push(listing(r.stack, "npm", `npm:${r.package.name}@${r.package.version}`));
  }
  return out.sort((a, b) =>
    a.name === b.name ? compareVersions(b.version, a.version) : a.name < b.name ? -1 : 1,
  );
}

/** Orders `1.10.0` after `1.9.0`: numeric parts by number, the rest as text. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

async function readIndex(cache: string): Promise<IndexRecord[]> {
  const dir = join(cache, indexDirectoryName);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const records: IndexRecord[] = [];
  for (const n of names.filter((n) => n.endsWith(".json")).sort()) {
    try {
      const r = JSON.parse(await readFile(join(dir, n), "utf8")) as IndexRecord;
      if (typeof r.reference === "string" && r.package && r.stack && typeof r.file === "string")
        records.push(r);
    } catch {
      // Not one of ours, or unreadable: as if the reference had never been installed.
    }
  }
  return records;
}

/** Writes one reference's record whole: readers see the old file or the new, never half. */
async function writeRecord(cache: string, record: IndexRecord): Promise<void> {
  const dir = join(cache, indexDirectoryName);
  await makeDirectories(dir);
  const target = join(dir, `${encodeURIComponent(record.reference)}.json`);
  await replaceFile(target, `${JSON.stringify(record, null, 2)}\n`);
}

/** `/root/.cache/hln/stacks` -> `~/.cache/hln/stacks`, as messages show it. */
function shownHome(path: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}
