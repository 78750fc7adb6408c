/**
 * `hln init`: writes a new stack that runs at once and that an editor type-checks with no
 * `npm install`. The editor finds `import ... from "hln"` through `paths` in tsconfig.json,
 * which names the types of the hln that wrote the stack; at run time the stack loader maps
 * the same import to the running hln (see load-stack.ts).
 */
import { existsSync, readdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HlnError, isAbortError } from "../errors.js";
import { makeDirectoriesSync } from "../make-directories.js";

/** What `hln init` may find in a directory and still call it empty: a fresh `git init`. */
const ignoredEntries = new Set([".git"]);

/** Names `load-stack.ts` accepts. */
const validName = /^[a-z0-9][a-z0-9-]*$/;

/** The command the scaffold's README and package.json give to run it. */
export const runCommand = "hln do up --dir .";

/** Where the types of the running hln live, and Node's, for a scaffold's tsconfig.json. */
export interface HlnTypes {
  /** `src/index.ts` in a source checkout, `dist/index.d.ts` in an installed package. */
  entry: string;
  /**
   * The folder holding `@types/node` next to hln, when there is one (a source checkout):
   * hln's TypeScript sources need Node's types. An installed package has only its .d.ts,
   * which the editor reads with `skipLibCheck`.
   */
  typeRoot?: string;
}

/** The types of the hln this module belongs to. */
export function runningHlnTypes(): HlnTypes {
  const source = fileURLToPath(new URL("../index.ts", import.meta.url));
  const entry = existsSync(source)
    ? source
    : fileURLToPath(new URL("../index.d.ts", import.meta.url));
  if (entry !== source) return { entry };
  try {
    const nodeTypes = createRequire(import.meta.url).resolve("@types/node/package.json");
    return { entry, typeRoot: dirname(dirname(nodeTypes)) };
  } catch {
    return { entry };
  }
}

/**
 * A stack name made from a directory name: lowercase, runs of other characters as one dash.
 *
 * @example
 * stackNameFrom("My Shop_v2") // "my-shop-v2"
 */
export function stackNameFrom(text: string): string {
  const name = text
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name === "" ? "my-stack" : name;
}

export interface ScaffoldOptions {
  /** The directory to write into; created when missing, refused when it holds anything but `.git`. */
  directory: string;
  /** The stack's name. Default: the directory's name, made valid (`stackNameFrom`). */
  name?: string;
  /** Default: the running hln's (`runningHlnTypes()`). */
  types?: HlnTypes;
  signal?: AbortSignal;
}

export interface ScaffoldResult {
  /** Absolute. */
  directory: string;
  name: string;
  /** Relative to `directory`, in the order written. */
  files: string[];
}

/**
 * Writes a new stack into an empty or missing directory. Nothing is overwritten: a
 * directory with files in it is refused before anything is written, and a failure part
 * way removes what this call wrote.
 *
 * @example
 * const { files } = await scaffoldStack({ directory: "./shop", name: "shop" });
 */
export async function scaffoldStack(options: ScaffoldOptions): Promise<ScaffoldResult> {
  options.signal?.throwIfAborted();
  const directory = resolve(options.directory);
  const name = options.name ?? stackNameFrom(basename(directory));
  if (!validName.test(name)) {
    throw new HlnError(
      "E_USAGE",
      `--name ${name}: a stack name is lowercase letters, digits and dashes, starting with a letter or digit`,
    );
  }
  const existed = checkTarget(options.directory, directory);
  const files = scaffoldFiles(name, options.types ?? runningHlnTypes());
  const written: string[] = [];
  // The topmost directory this call made (mkdir -p returns it), so that a failure removes
  // only what was not there before: an empty parent the user had stays.
  let created: string | undefined;
  try {
    if (!existed) created = makeDirectoriesSync(directory);
    for (const [file, text] of Object.entries(files)) {
      options.signal?.throwIfAborted();
      // "wx": never replaces a file, even one that appeared since the check.
      writeFileSync(join(directory, file), text, { flag: "wx" });
      written.push(file);
    }
  } catch (err) {
    for (const file of written.reverse()) unlinkSync(join(directory, file));
    if (created !== undefined) removeCreated(directory, created);
    if (err instanceof HlnError || isAbortError(err)) throw HlnError.from(err);
    throw new HlnError("E_USAGE", `${options.directory}: cannot write the stack: ${reason(err)}`, {
      cause: err,
    });
  }
  return { directory, name, files: Object.keys(files) };
}

/** Whether the target exists; throws when it is not an empty directory. */
function checkTarget(shown: string, directory: string): boolean {
  let st: import("node:fs").Stats;
  try {
    st = statSync(directory);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new HlnError("E_USAGE", `${shown}: ${reason(err)}`, { cause: err });
  }
  if (!st.isDirectory()) throw new HlnError("E_USAGE", `${shown}: not a directory`);
  let entries: string[];
  try {
    entries = readdirSync(directory).filter((e) => !ignoredEntries.has(e));
  } catch (err) {
    throw new HlnError("E_USAGE", `${shown}: ${reason(err)}`, { cause: err });
  }
  if (entries.length > 0) {
    const shownEntries = entries.sort().slice(0, 3).join(", ");
    const more = entries.length > 3 ? `, and ${entries.length - 3} more` : "";
    throw new HlnError(
      "E_USAGE",
      `${shown}: directory is not empty (${shownEntries}${more}); hln init writes only into an empty or new directory`,
    );
  }
  return true;
}

/** Removes `directory` and its parents up to `top`, the first directory this call made. */
function removeCreated(directory: string, top: string): void {
  for (let dir = directory; ; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
    if (dir === top || dirname(dir) === dir) return;
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "EACCES" || e.code === "EPERM") return "permission denied";
  if (e.code === "ENOTDIR") return "a parent is not a directory";
  if (e.code === "EROFS") return "read-only file system";
  if (e.code === "ENOSPC") return "no space left on device";
  if (e.code === "ENOENT") return "no directory can be made there";
  return e.message ?? String(err);
}

/** The files of a new stack, by name. Pure, for tests. */
export function scaffoldFiles(name: string, types: HlnTypes): Record<string, string> {
  return {
    "stack.ts": stackSource(name),
    "package.json": `${JSON.stringify(
      {
        name,
        version: "0.1.0",
        private: true,
        type: "module",
        scripts: { up: runCommand, typecheck: "tsc --noEmit" },
      },
      null,
      2,
    )}\n`,
    "tsconfig.json": tsconfig(types),
    "README.md": readme(name, types),
    ".gitignore": "node_modules/\n.hln/\n*.log\n.DS_Store\n",
  };
}

function tsconfig(types: HlnTypes): string {
  const compilerOptions: Record<string, unknown> = {
    target: "ES2022",
    // DOM names what Node also has (console, URL, AbortSignal, fetch) when Node's own
    // types are not installed.
    lib: ["ES2023", "DOM"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: true,
    noEmit: true,
    types: types.typeRoot ? ["node"] : [],
    ...(types.typeRoot ? { typeRoots: [types.typeRoot] } : {}),
    paths: { hln: [types.entry] },
  };
  return `${JSON.stringify({ compilerOptions, include: ["**/*.ts"] }, null, 2)}\n`;
}

function stackSource(name: string): string {
  return `/**
 * ${name}: a stack. Run it with \`${runCommand}\` in this directory.
 *
 * An action builds a lazy graph of containers, files and directories; nothing runs until a
 * result is asked for (stdout(), sync(), export()). hln then runs the whole graph on
 * BuildKit at once, and a rerun is answered from its cache.
 */
import { defineStack } from "hln";

export default defineStack({
  // Lowercase letters, digits and dashes: how \`hln list stacks\` and \`hln show\` name it.
  name: ${JSON.stringify(name)},
  version: "0.1.0",
  description: "Says hello from a container",
  tags: ["example"],

  // Each input is typed, and the action receives it with that type: \`inputs.times\` is a
  // number. Give values with \`--set times=3\`. An input without a default is required.
  // Other types: { type: "enum", values: ["s", "m"] }, { type: "path" } (an absolute path
  // arrives), { type: "secret", env: "TOKEN" } (never printed) and { type: "list" }.
  inputs: {
    greeting: { type: "string", default: "hello", description: "what to say" },
    times: { type: "number", default: 2, description: "how many times to say it" },
  },

  actions: {
    // \`hln do up\` runs this; add more actions (\`down\`, \`test\`) beside it.
    async up({ dag, inputs }) {
      // busybox and debian:bookworm-slim are small images to start from.
      const said = dag
        .container()
        .from("busybox:latest")
        // A value goes in through the environment, not pasted into the shell script, so
        // quotes in it cannot break the command.
        .withEnvVariable("GREETING", inputs.greeting)
        .withExec(["sh", "-c", \`for i in $(seq \${inputs.times}); do echo "$GREETING"; done\`]);
      const lines = (await said.stdout()).trimEnd().split("\\n");
      // What an action returns is printed as YAML (or JSON with --output json).
      return { lines };
    },
  },
});
`;
}

function readme(name: string, types: HlnTypes): string {
  return `# ${name}

A stack for [hln](https://www.npmjs.com/package/hln), made by \`hln init\`.

## Run it

\`\`\`sh
${runCommand}                    # builds and prints what the action returns
${runCommand} --set greeting=hi --set times=3
hln show --dir .                     # its inputs and actions
\`\`\`

## Edit it

\`stack.ts\` is the whole stack: its name and version, its inputs, and its actions. An
action receives \`dag\` (to build containers, directories and files), \`inputs\` (typed as
declared) and \`stackDirectory\` (this folder, for files the stack ships).

Your editor type-checks \`stack.ts\` with no \`npm install\`: \`tsconfig.json\` maps
\`"hln"\` to the types of the hln that made this folder:

    ${types.entry}

If hln moves (a new install, another machine), point that path at the new one, or run
\`npm install --save-dev hln\` and remove \`paths\` from tsconfig.json. \`npm run typecheck\`
needs TypeScript (\`npm install --save-dev typescript\`, or a global \`tsc\`).${
    types.typeRoot
      ? ""
      : `
To use Node's own modules (\`node:path\`, \`process\`), run \`npm install --save-dev @types/node\`
and set \`"types": ["node"]\` in tsconfig.json.`
  }

## Add an input

Add it under \`inputs\` in \`stack.ts\`; the action sees it at once, typed:

\`\`\`ts
size: { type: "enum", values: ["s", "m", "l"], default: "s", description: "how big" },
\`\`\`

then \`${runCommand} --set size=m\`. Types: string, number, boolean, enum, path, secret
and list; each may have a \`default\`, a \`description\`, \`required\` and an \`env\` variable
that fills it.
`;
}
