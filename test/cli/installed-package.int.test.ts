/**
 * hln as a user gets it: packed with `npm pack`, installed globally into an empty prefix,
 * and run from a directory outside the repository with nothing of the repository on its
 * PATH. What the package lacks (a file left out of `files`, a module that only resolves
 * inside the checkout) fails here, not on a user's machine.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { type CliResult, repoRoot, runProgram } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

type Run = CliResult;

/** Runs a program to its end; a run still going after 10 minutes is killed and fails the test. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Run> {
  return runProgram(command, args, { ...options, timeoutMs: 600_000 });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/**
 * A copy of the work tree's package sources, built and packed there: the shared checkout's
 * dist/ is left alone, while the tarball follows the same package.json `files`.
 */
async function pack(into: string): Promise<string> {
  const copy = join(into, "source");
  mkdirSync(copy);
  for (const entry of readdirSync(repoRoot)) {
    if (["node_modules", "dist", ".git"].includes(entry)) continue;
    cpSync(join(repoRoot, entry), join(copy, entry), { recursive: true });
  }
  // The build's own tools (tsc, @types/node) from the checkout; they are not packed.
  symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"));
  const env = { ...process.env, npm_config_update_notifier: "false" };
  const r = ok(
    await run("npm", ["pack", "--pack-destination", into, "--json"], { cwd: copy, env }),
    "npm pack",
  );
  // `npm pack --json` prints the prepare script's output first, then the JSON.
  const json = r.stdout.slice(r.stdout.indexOf("\n[") + 1 || r.stdout.indexOf("["));
  const [{ filename, files }] = JSON.parse(json) as [
    { filename: string; files: { path: string }[] },
  ];
  const paths = files.map((f) => f.path);
  for (const needed of [
    "bin/hln.js",
    "dist/bundle/hln.mjs",
    "dist/index.js",
    "dist/index.d.ts",
    "stacks/hello/stack.ts",
  ])
    assert.ok(paths.includes(needed), `the package has ${needed}`);
  assert.ok(!paths.some((p) => p.startsWith("src/") || p.startsWith("test/")), "no sources");
  return join(into, filename);
}

describe("the installed package", () => {
  it("lists, shows, scaffolds and runs stacks with no path into the repository", async () => {
    const root = tempDir("hln-installed-");
    const tarball = await pack(root);
    const prefix = join(root, "prefix");
    mkdirSync(prefix);
    const npmEnv = { ...process.env, npm_config_update_notifier: "false" };
    ok(
      await run(
        "npm",
        [
          "install",
          "-g",
          "--prefix",
          prefix,
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          tarball,
        ],
        { cwd: root, env: npmEnv },
      ),
      "npm install -g",
    );
    const installed = join(prefix, "lib", "node_modules", "hln");

    // A user's shell: the prefix's bin first, node, and the rest of PATH without anything
    // of the repository (its node_modules/.bin above all).
    const path = [
      join(prefix, "bin"),
      dirname(process.execPath),
      ...(process.env.PATH ?? "")
        .split(delimiter)
        .filter((p) => p !== "" && relative(repoRoot, p).startsWith("..")),
    ].join(delimiter);
    const home = join(root, "home");
    mkdirSync(home);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: path,
      XDG_CACHE_HOME: join(home, ".cache"),
      NO_COLOR: "1",
      CI: "true",
    };
    delete env.NODE_OPTIONS;
    const hln = (...args: string[]) => run("hln", args, { cwd: home, env });

    const version = ok(await hln("version"), "hln version");
    const pkgVersion = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version;
    assert.match(version.stdout, new RegExp(`^hln ${pkgVersion.replaceAll(".", "\\.")} `));

    const list = ok(await hln("list", "stacks"), "hln list stacks");
    assert.match(list.stdout, /^NAME +VERSION +SOURCE +DESCRIPTION\nhello +\S+ +bundled +\S/);

    const show = ok(await hln("show", "hello"), "hln show hello");
    assert.match(show.stdout, /^name {9}hello$/m);
    assert.ok(
      show.stdout.includes(
        `source       bundled: ${join(installed, "stacks", "hello", "stack.ts")}\n`,
      ),
      show.stdout,
    );
    assert.match(show.stdout, /^greeting +string /m);

    // A program beside the package imports each entry point by name, and nothing else.
    const probe = join(prefix, "lib", "probe.mjs");
    writeFileSync(
      probe,
      `const out = {};
for (const e of [".", "./stack", "./buildkit", "./llb"])
  out[e] = Object.keys(await import(e === "." ? "hln" : \`hln\${e.slice(1)}\`)).sort();
try { await import("hln/dist/sdk/solver.js"); out.deep = "imported"; } catch (err) { out.deep = err.code; }
console.log(JSON.stringify(out));
`,
    );
    const probed = JSON.parse(
      ok(await run(process.execPath, [probe], { cwd: home, env }), "probe").stdout,
    );
    const surface = JSON.parse(
      readFileSync(join(repoRoot, "test", "api", "testdata", "public-surface.json"), "utf8"),
    ) as Record<string, string[]>;
    for (const [entry, names] of Object.entries(surface))
      assert.deepEqual(
        probed[entry],
        names.filter((n) => !n.startsWith("type ")).sort(),
        `the values "${entry}" exports`,
      );
    assert.equal(probed.deep, "ERR_PACKAGE_PATH_NOT_EXPORTED");
    // stripInternal: what only hln's own layers use is not in the types a user sees.
    const types = readFileSync(join(installed, "dist", "sdk", "container.d.ts"), "utf8");
    assert.ok(!/\bsolver\b/.test(types), "Container's solver is @internal");
    assert.ok(types.includes("withExec("), "the container's types are there");

    const init = ok(await hln("init", "my-stack"), "hln init");
    assert.match(init.stdout, /^Wrote stack "my-stack" in /);
    const dir = join(home, "my-stack");
    const tsconfig = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
    assert.deepEqual(tsconfig.compilerOptions.paths, {
      hln: [join(installed, "dist", "index.d.ts")],
    });

    const up = ok(
      await hln(
        "--log-format",
        "plain",
        "do",
        "up",
        "--dir",
        "my-stack",
        "--set",
        "times=3",
        "--output",
        "json",
      ),
      "hln do up --dir my-stack",
    );
    assert.deepEqual(JSON.parse(up.stdout), { lines: ["hello", "hello", "hello"] });
    assert.match(up.stderr, /^hln: \d+ steps/m);

    // The editor's check, with the repository's TypeScript standing in for the editor's.
    const tsc = join(repoRoot, "node_modules", ".bin", "tsc");
    const clean = await run(tsc, ["--noEmit", "-p", dir], { cwd: dir, env });
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    // hln's types reach the stack: a misused input and a misspelt SDK method are both caught.
    const file = join(dir, "stack.ts");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "async up({ dag, inputs }) {",
        'async up({ dag, inputs }) {\n      inputs.times.toUpperCase();\n      dag.container().fromm("busybox");',
      ),
    );
    const broken = await run(tsc, ["--noEmit", "-p", dir], { cwd: dir, env });
    assert.notEqual(broken.code, 0, broken.stdout);
    assert.match(
      broken.stdout,
      /stack\.ts\(\d+,\d+\): error TS2339: Property 'toUpperCase' does not exist on type 'number'/,
    );
    assert.match(
      broken.stdout,
      /stack\.ts\(\d+,\d+\): error TS2551: Property 'fromm' does not exist on type 'Container'/,
    );
  });
});
