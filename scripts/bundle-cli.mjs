// Bundles the CLI into dist/bundle/hln.mjs, which bin/hln.js runs: a few files to read and
// compile instead of some 175 modules to resolve. What commands import only when they run
// (the engine, BuildKit, protobuf, app layers) is split into chunks of its own, so that
// `hln version` and --help neither compile nor evaluate it. npm dependencies are inlined
// but tsx and esbuild, which load files of their own.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = `${root}src/`;
const out = "dist/bundle";

/**
 * Modules find files next to them (package.json, the bundled stacks) by import.meta.url.
 * In the bundle each keeps the URL of its compiled file in dist/, as it has under tsc.
 */
const keepModuleUrls = {
  name: "keep-module-urls",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!args.path.startsWith(src) || !text.includes("import.meta.url")) return undefined;
      const compiled = `../${relative(src, args.path).replace(/\.ts$/, ".js")}`;
      return {
        // Code only: the words in a string (load-stack.ts rewrites them in stacks) stay.
        contents: text.replace(
          /(?<!["'`])\bimport\.meta\.url\b/g,
          `new URL(${JSON.stringify(compiled)}, import.meta.url).href`,
        ),
        loader: "ts",
      };
    });
  },
};

// Whole milliseconds below the clock: a file saved in this same millisecond counts as newer.
const startedAt = Math.floor(Date.now()) - 1;
const result = await build({
  absWorkingDir: root,
  entryPoints: { hln: "src/cli/main.ts" },
  outdir: out,
  write: false,
  // One flat directory: each chunk's import.meta.url is one level below dist/.
  chunkNames: "[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["tsx", "tsx/*", "esbuild"],
  // Inlined CommonJS dependencies (commander) call require for Node's own modules.
  banner: {
    js: 'import { createRequire as __hlnCreateRequire } from "node:module";\nconst require = __hlnCreateRequire(import.meta.url);',
  },
  // Maps beside the chunks but not linked from them: loadStack turns Node's source maps
  // on for the stack's sake, and hln's own frames must keep naming dist/ (action-error.ts
  // tells hln's errors from the stack's by that), at no cost of reading maps.
  sourcemap: "external",
  legalComments: "eof",
  logLevel: "warning",
  metafile: true,
  plugins: [keepModuleUrls],
});
// bin/hln.js runs the sources instead once any of these is newer than the build. The
// inlined npm packages change only with package-lock.json, one file to look at, not 200.
const files = [
  ...Object.keys(result.metafile.inputs).filter((f) => f.startsWith("src/")),
  "package.json",
  "package-lock.json",
];

// hln processes may be running from the previous build meanwhile (a test suite, another
// terminal), and they import chunks as their commands need them: every file is replaced
// whole (temporary sibling, rename), chunks first, the entry and inputs.json last, and
// the chunks of earlier builds stay an hour before they go.
const dir = `${root}${out}`;
await mkdir(dir, { recursive: true });
const replace = async (path, contents) => {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, contents);
  await rename(temp, path);
};
const entry = result.outputFiles.filter((f) => basename(f.path).startsWith("hln.mjs"));
for (const f of result.outputFiles) if (!entry.includes(f)) await replace(f.path, f.contents);
for (const f of entry) await replace(f.path, f.contents);
await replace(`${dir}/inputs.json`, `${JSON.stringify({ startedAt, files })}\n`);
const made = new Set([...result.outputFiles.map((f) => basename(f.path)), "inputs.json"]);
for (const name of await readdir(dir)) {
  const path = `${dir}/${name}`;
  if (!made.has(name) && Date.now() - (await stat(path)).mtimeMs > 3_600_000)
    await rm(path, { force: true });
}
