/**
 * Loads a stack module: a `.ts` file, or a directory holding `stack.ts`. TypeScript runs
 * without a build step, and `import ... from "hln"` inside the stack is the hln that is
 * loading it, wherever the stack lives on disk: the stack and the local files it imports
 * are bundled by esbuild into one ES module, with "hln" bound to this process's SDK, and
 * the bundle is kept under the cache directory by the content of every file it was made
 * from, so that a rerun of an unchanged stack reads and hashes its files and starts no
 * compiler.
 */
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { homedir } from "node:os";
import { dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { HlnError } from "../errors.js";
import { makeDirectories } from "../make-directories.js";
import { replaceFile } from "../replace-file.js";
import { messageOf } from "./action-error.js";
import { isStack, type Stack } from "./define-stack.js";
import { validateStack } from "./validate-stack.js";

/** Where the bundled stack finds the SDK: set before it is imported. */
const sdkKey = Symbol.for("hln.sdk");

/** Changes whenever what a bundle holds would change for the same files. */
const bundleFormat = "hln-stack-bundle/1";

/** One file a bundle was made from, or that decided how one was resolved (absent: ""). */
interface InputFile {
  path: string;
  sha256: string;
}

interface Manifest {
  format: string;
  /** The stack file: once it is gone, so is its bundle. */
  file: string;
  /** The SDK's export names the bundle was bound to. */
  exports: string;
  inputs: InputFile[];
  /** The bundle's file name, beside the manifest. */
  bundle: string;
}

/** `$XDG_CACHE_HOME/hln/stack-bundles`, else `~/.cache/hln/stack-bundles`. */
export function stackBundleDirectory(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache");
  return join(base, "hln", "stack-bundles");
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

async function hashOf(path: string): Promise<string> {
  try {
    return sha256(await readFile(path));
  } catch {
    return "";
  }
}

/**
 * The module URL to import for the stack `file`, from the cache when none of its inputs
 * changed by one byte, else bundled anew. `built` says which.
 */
export async function bundleStack(
  file: string,
  options: { cacheDirectory?: string } = {},
): Promise<{ url: string; built: boolean }> {
  const sdk = await import("../index.js");
  (globalThis as Record<symbol, unknown>)[sdkKey] = sdk;
  const exports = Object.keys(sdk).sort().join(",");
  const dir = join(
    options.cacheDirectory ?? stackBundleDirectory(),
    sha256(`${bundleFormat}\0${file}`).slice(0, 32),
  );
  const manifestFile = join(dir, "manifest.json");
  let previous: Manifest | undefined;
  try {
    previous = JSON.parse(await readFile(manifestFile, "utf8")) as Manifest;
  } catch {
    // Not bundled yet, or the cache is unreadable: bundle.
  }
  if (previous?.format === bundleFormat && previous.exports === exports) {
    const hashes = await Promise.all(previous.inputs.map((i) => hashOf(i.path)));
    const bundle = join(dir, previous.bundle);
    if (previous.inputs.every((i, n) => hashes[n] === i.sha256) && existsSync(bundle))
      return { url: pathToFileURL(bundle).href, built: false };
  }
  const { code, inputs } = await bundle(file, Object.keys(sdk));
  const name = `${sha256(code).slice(0, 16)}.mjs`;
  const manifest: Manifest = { format: bundleFormat, file, exports, inputs, bundle: name };
  try {
    await makeDirectories(dir);
    await replaceFile(join(dir, name), code);
    await replaceFile(manifestFile, `${JSON.stringify(manifest)}\n`);
    if (previous?.bundle && previous.bundle !== name)
      await rm(join(dir, previous.bundle), { force: true });
    await forgetRemovedStacks(dirname(dir));
    return { url: pathToFileURL(join(dir, name)).href, built: true };
  } catch {
    // A cache that cannot be written costs a rebundle next time, nothing else: the module
    // imports only absolute file: URLs, so it runs as well from memory.
    return {
      url: `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`,
      built: true,
    };
  }
}

/**
 * Removes the bundles of stack files that no longer exist (a temporary stack, a moved
 * checkout), so that the cache does not grow with every stack ever loaded. Done when a
 * stack is bundled anyway, never on the fast path.
 */
async function forgetRemovedStacks(cache: string): Promise<void> {
  for (const entry of await readdir(cache).catch(() => [])) {
    try {
      const m = JSON.parse(await readFile(join(cache, entry, "manifest.json"), "utf8")) as Manifest;
      if (typeof m.file === "string" && !existsSync(m.file))
        await rm(join(cache, entry), { recursive: true, force: true });
    } catch {
      // Being written by another hln, or not ours: left alone.
    }
  }
}

/** Bundles the stack with esbuild; what the bundle was made from, hashed as read. */
async function bundle(
  file: string,
  names: string[],
): Promise<{ code: string; inputs: InputFile[] }> {
  // Loaded here, not at start-up: only stacks need a compiler, and only when changed.
  const { build } = await import("esbuild");
  /** The sha256 of each file as it was read for the bundle. */
  const read = new Map<string, string>();
  /** package.json and tsconfig.json files that decide resolution and transpiling. */
  const settings = new Set<string>();
  const settingsAbove = (path: string) => {
    for (let d = dirname(path); ; d = dirname(d)) {
      settings.add(join(d, "package.json"));
      settings.add(join(d, "tsconfig.json"));
      if (dirname(d) === d) break;
    }
  };
  const sdkSource = [
    `const sdk = globalThis[Symbol.for("hln.sdk")];`,
    `export const { ${names.join(", ")} } = sdk;`,
  ].join("\n");
  const result = await build({
    entryPoints: [file],
    absWorkingDir: dirname(file),
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    // Node's own choice among a package's entry points: no "module" field or condition.
    mainFields: ["main"],
    conditions: [],
    // CommonJS files the stack imports by path may call require.
    banner: {
      js: `import { createRequire as __hlnCreateRequire } from "node:module";\nconst require = __hlnCreateRequire(${JSON.stringify(pathToFileURL(file).href)});`,
    },
    // Stack traces name the stack's own files and lines (loadStack turns source maps
    // on); the sources are named relative to the stack's directory, not the bundle's.
    sourcemap: "inline",
    sourceRoot: `${pathToFileURL(dirname(file)).href}/`,
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        name: "hln-stack",
        setup(b) {
          b.onResolve({ filter: /^hln$/ }, () => ({ path: "hln", namespace: "hln-sdk" }));
          b.onLoad({ filter: /.*/, namespace: "hln-sdk" }, () => ({
            contents: sdkSource,
            loader: "js",
          }));
          // Packages stay outside the bundle, loaded by Node from where the stack is.
          b.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.pluginData === "hln-inner" || isAbsolute(args.path)) return undefined;
            if (isBuiltin(args.path)) return { path: args.path, external: true };
            const r = await b.resolve(args.path, {
              kind: args.kind,
              resolveDir: args.resolveDir,
              importer: args.importer,
              pluginData: "hln-inner",
            });
            if (r.errors.length > 0) return { errors: r.errors };
            // A tsconfig.json "paths" alias for a file of the stack's own is bundled.
            if (!r.path.split(/[\\/]/).includes("node_modules")) return { path: r.path };
            settingsAbove(r.path);
            return { path: pathToFileURL(r.path).href, external: true };
          });
          // Every file is read here, once: its hash is of the very bytes bundled, so a
          // file saved while esbuild runs is bundled again next time. And a file's
          // import.meta is its own, not the bundle's.
          b.onLoad({ filter: /\.([cm]?[jt]sx?|json)$/ }, async (args) => {
            settingsAbove(args.path);
            const bytes = await readFile(args.path);
            read.set(args.path, sha256(bytes));
            const loader = loaderOf(args.path);
            const text = bytes.toString("utf8");
            if (loader === "json" || !text.includes("import.meta."))
              return { contents: bytes, loader };
            const url = pathToFileURL(args.path).href;
            return {
              // Code only, as far as text tells: the words inside a string stay.
              contents: text.replace(
                /(?<!["'`])\bimport\.meta\.(url|filename|dirname)\b/g,
                (_, key: string) =>
                  JSON.stringify(
                    key === "url" ? url : key === "filename" ? args.path : dirname(args.path),
                  ),
              ),
              loader,
            };
          });
        },
      },
    ],
  }).catch((err: unknown) => {
    throw new Error(buildFailure(err, dirname(file)));
  });
  const code = result.outputFiles[0]!.text;
  const files = Object.keys(result.metafile.inputs)
    .filter((f) => !f.includes(":"))
    .map((f) => resolve(dirname(file), f));
  // Files esbuild read itself (none but of kinds we do not load) and the settings files
  // are hashed after the build.
  const paths = [...new Set([...files, ...settings])];
  const hashes = await Promise.all(paths.map((f) => read.get(f) ?? hashOf(f)));
  return { code, inputs: paths.map((path, n) => ({ path, sha256: hashes[n]! })) };
}

function loaderOf(path: string): "ts" | "tsx" | "js" | "jsx" | "json" {
  const ext = extname(path);
  if (ext === ".json") return "json";
  if (ext === ".tsx") return "tsx";
  if (ext === ".jsx") return "jsx";
  return /^\.[cm]?ts$/.test(ext) ? "ts" : "js";
}

/** esbuild's errors as `file:line:column: ERROR: text` lines, which loadFailure reads. */
function buildFailure(err: unknown, cwd: string): string {
  const errors = (
    err as {
      errors?: { text: string; location?: { file: string; line: number; column: number } | null }[];
    }
  ).errors;
  if (!errors?.length) return err instanceof Error ? err.message : String(err);
  return errors
    .map((e) =>
      e.location
        ? `${resolve(cwd, e.location.file)}:${e.location.line}:${e.location.column}: ERROR: ${e.text}`
        : e.text,
    )
    .join("\n");
}

/** The file a `--plan` path names: the path itself, or `stack.ts` inside a directory. */
export function stackFile(path: string): string {
  const abs = resolve(path);
  let st: import("node:fs").Stats;
  try {
    st = statSync(abs);
  } catch {
    throw new HlnError("E_STACK_INVALID", `${path}: no such file or directory`);
  }
  if (!st.isDirectory()) return abs;
  const file = resolve(abs, "stack.ts");
  if (!existsSync(file))
    throw new HlnError("E_STACK_INVALID", `${path}: directory has no stack.ts`);
  return file;
}

/** `file` as a person would type it in `cwd`: relative to it when inside it. */
export function shownPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? file : rel;
}

/** What loadStack says of a module whose default export is something else. */
export const notAStack = "the default export is not a stack";

export async function loadStack(
  path: string,
  /** `env` says where the bundle cache is (XDG_CACHE_HOME, HOME); default process.env. */
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ file: string; stack: Stack }> {
  const file = stackFile(path);
  const shown = shownPath(file);
  if (/\.c[jt]s$/.test(file))
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: a stack is an ES module (import { defineStack } from "hln"); name it .ts, .mts, .js or .mjs`,
    );
  // A values file or a README given where the stack goes would otherwise run as code.
  if (!/\.m?[jt]sx?$/.test(file))
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: not a stack module: name a .ts or .js file, or a directory holding stack.ts${/\.ya?ml$/.test(file) ? " (values files go with -f)" : ""}`,
    );
  let mod: { default?: unknown };
  try {
    const { url } = await bundleStack(file, {
      cacheDirectory: stackBundleDirectory(options.env ?? process.env),
    });
    // What the stack throws is shown (with --debug) at its own file and line.
    process.setSourceMapsEnabled(true);
    mod = (await importOrDrained(url)) as { default?: unknown };
  } catch (err) {
    throw new HlnError("E_STACK_INVALID", loadFailure(file, err), { cause: err });
  }
  const stack = mod.default;
  // The export is the stack's code: a Proxy, or getters that throw, are its mistake too.
  let branded: boolean;
  try {
    branded = isStack(stack);
  } catch {
    branded = false;
  }
  if (!branded) {
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: ${notAStack} (export default defineStack({...}))`,
    );
  }
  try {
    validateStack(shown, stack as Stack);
  } catch (err) {
    if (err instanceof HlnError) throw err;
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: reading the stack's definition threw: ${messageOf(err)}`,
      { cause: err },
    );
  }
  return { file, stack: stack as Stack };
}

/**
 * import(url), or an error as soon as it cannot succeed: the module's top level awaits
 * something that never settles (the process would end with exit 13 and not a word), or
 * code it started threw from a timer or a promise nobody awaited (the import would wait
 * on, and the error be lost).
 */
async function importOrDrained(url: string): Promise<unknown> {
  let fail: (why: string, err?: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (why, err) =>
      reject(new Error(err === undefined ? why : `${why}: ${messageOf(err)}`, { cause: err }));
  });
  const onDrained = () => fail("its top level awaits something that never settles");
  const onUncaught = (err: unknown) => fail("its top level started code that threw", err);
  const onRejection = (err: unknown) => fail("a promise its top level did not await failed", err);
  process.once("beforeExit", onDrained);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onRejection);
  try {
    return await Promise.race([import(url), failed]);
  } finally {
    process.off("beforeExit", onDrained);
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onRejection);
  }
}

/**
 * Why the stack did not load, in one line. A syntax error keeps esbuild's place and
 * reason (`stack.ts:3:30: Expected ";" but found "x"`; esbuild counts columns from 0,
 * editors and tsc from 1). A file the stack imports that has the error is named instead.
 */
export function loadFailure(file: string, err: unknown): string {
  // The module's top level may throw anything, e.g. an object whose toString throws.
  const message = messageOf(err);
  const errors = [...message.matchAll(/^(.+?):(\d+):(\d+): ERROR: (.*)$/gm)];
  const first = errors[0];
  if (first) {
    const [, where, line, column, reason] = first;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    return `${shownPath(where!)}:${line}:${Number(column) + 1}: ${reason}${more}`;
  }
  return `${shownPath(file)}: cannot load stack: ${message.split("\n")[0]}`;
}
