/**
 * Fuzz: a seeded generator feeds hln malformed stacks, values files, `--set` strings,
 * ignore files and engine addresses. Every case must end in one `hln: error:` line that
 * names what and where (hints may follow on indented lines), an exit that is neither 0
 * nor 70 unless the case is valid (then 0 or a clean error), no stack trace, no hang, and
 * nothing changed outside the run's temporary files.
 *
 * Cases run main in-process (one engine-free parse costs milliseconds); the few that need
 * a process of their own (a stack whose module never settles, a throw from a timer) run
 * the real binary. Engines named by the cases are dead addresses on loopback or a missing
 * socket: no case reaches a remote machine or the Docker engine, except the valid stacks
 * whose action runs (they open the engine and solve nothing).
 *
 * Replay a run: HLN_FUZZ_SEED=N (printed as a diagnostic). The default seed is fixed so
 * CI is reproducible; for a new one each run:
 *   HLN_FUZZ_SEED=$RANDOM node --import tsx --test test/cli/fuzz.int.test.ts
 * HLN_FUZZ_CASES=N changes how many in-process cases are made (default 320).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { freePort } from "../helpers/free-port.js";
import { settlesWithin } from "../helpers/hang-guard.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const seed = process.env.HLN_FUZZ_SEED ? Number(process.env.HLN_FUZZ_SEED) : 20261202;
const caseCount = process.env.HLN_FUZZ_CASES ? Number(process.env.HLN_FUZZ_CASES) : 320;
const only = process.env.HLN_FUZZ_ONLY ? Number(process.env.HLN_FUZZ_ONLY) : undefined;

/** mulberry32: a small PRNG whose whole state is one 32-bit number, so a seed replays. */
function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
  /** Printable and unprintable characters a user's file or shell may hold. */
  junk(n: number): string {
    const alphabet = [
      ..."abcXYZ019 _-.:=/\\*?[]{}!#'\"`$%&|<>,;~^@()\t",
      "\n",
      "\r",
      "\0",
      "\u001b[31m",
      "é",
      "\u202e",
      "💥",
      "\ufeff",
      "\ud800",
    ];
    let s = "";
    for (let i = 0; i < n; i++) s += this.pick(alphabet);
    return s;
  }
  /** `text` with a few characters inserted, removed or replaced. */
  mutate(text: string, edits = this.int(1, 4)): string {
    let t = text;
    for (let i = 0; i < edits; i++) {
      const at = this.int(0, t.length);
      const op = this.int(0, 2);
      if (op === 0) t = t.slice(0, at) + this.junk(this.int(1, 3)) + t.slice(at);
      else if (op === 1) t = t.slice(0, at) + t.slice(at + this.int(1, 8));
      else t = t.slice(0, at) + this.junk(1) + t.slice(at + 1);
    }
    return t;
  }
}

interface Case {
  kind: "stack" | "action" | "values" | "set" | "ignore" | "engine";
  /** What the case is, for the report. */
  what: string;
  argv: string[];
  env?: Record<string, string>;
  /** Written below the case's directory before it runs. */
  files?: Record<string, string | Buffer>;
  /** The error line must contain one of these: the file, field, flag or endpoint at fault. */
  names: string[];
  /** Valid input: exit 0, or a clean error. */
  mayPass?: boolean;
}

const root = tempDir("hln-fuzz-");
const home = join(root, "home");
const cwd = join(root, "cwd");
const cases = join(root, "cases");
const base = join(root, "base");
for (const d of [home, cwd, cases, base]) mkdirSync(d, { recursive: true });
writeFileSync(join(cwd, "notes.txt"), "the user's own file\n");
const deadSocket = join(root, "no-engine.sock");

/** A stack with inputs of every type, for values, --set and ignore cases. */
writeFileSync(
  join(base, "stack.ts"),
  `import { defineStack } from "hln";
export default defineStack({
  name: "fuzz",
  version: "0.0.1",
  inputs: {
    name: { type: "string", required: false },
    count: { type: "number", default: 1 },
    flag: { type: "boolean", required: false },
    mode: { type: "enum", values: ["a", "b"], required: false },
    tags: { type: "list", required: false },
    token: { type: "secret", required: false },
    where: { type: "path", required: false },
    src: { type: "string", default: "." },
  },
  actions: {
    x() { return "ok"; },
    dir({ dag, inputs }) { dag.host().directory(String(inputs.src)); return "ok"; },
  },
});
`,
);

const baseEnv = (): NodeJS.ProcessEnv => ({
  HOME: home,
  XDG_CACHE_HOME: join(home, ".cache"),
  XDG_STATE_HOME: join(home, ".local", "state"),
  XDG_CONFIG_HOME: join(home, ".config"),
  PATH: process.env.PATH,
  NO_COLOR: "1",
  CI: "true",
  HLN_NO_LEDGER: "1",
});

// ---------------------------------------------------------------------------------------
// Generators, one per kind. `dir` is the case's own directory (absolute).

const goodStack = (
  body = `actions: { x() { return "ok"; } }`,
  meta = `name: "f", version: "0.0.1"`,
) => `import { defineStack } from "hln";\nexport default defineStack({ ${meta}, ${body} });\n`;

function stackCase(g: Gen, dir: string): Case {
  const file = join(dir, "stack.ts");
  const shapes: (() => [string, string])[] = [
    () => ["syntax error", g.mutate(goodStack(), g.int(2, 8))],
    () => ["truncated", goodStack().slice(0, g.int(1, goodStack().length - 2))],
    () => ["unbalanced", goodStack().replace("}", g.pick(["", "}}", "{", "(", "[", "`"]))],
    () => [
      "default export",
      `${g.chance(0.5) ? 'import { defineStack } from "hln";\n' : ""}export default ${g.pick([
        "42",
        "null",
        "undefined",
        '"stack"',
        "{}",
        "[]",
        "() => 1",
        "class {}",
        "Symbol('s')",
        "new Proxy({}, { get() { throw new Error('trap'); } })",
        "new Proxy({}, { get() { throw 7; }, ownKeys() { throw null; } })",
        "Object.create(null)",
        "{ name: 'x', version: '1', actions: {} }",
      ])};\n`,
    ],
    () => ["no default export", `export const stack = 1;\nexport function up() {}\n`],
    () => ["empty file", g.pick(["", "\n", "// nothing\n", "\ufeff"])],
    () => [
      "top-level throw",
      `throw ${g.pick([
        "new Error('top')",
        "42",
        "null",
        "undefined",
        "'text'",
        "{ toString() { throw new Error('no string'); } }",
        "Object.create(null)",
        "new Error('line one\\nline two')",
        "Symbol('s')",
        "new AggregateError([new Error('a')], 'agg')",
      ])};\nexport default 1;\n`,
    ],
    () => [
      "bad import",
      `import { ${g.pick(["nothing", "defineStack as x, missing"])} } from "${g.pick(["hln", "./nope.ts", "not-a-package-xyz", "node:nope"])}";\nexport default 1;\n`,
    ],
    () => {
      const meta = g.pick([
        `name: "", version: "1"`,
        `name: "Bad Name", version: "1"`,
        `name: ${g.pick(["42", "null", "[]", "{}"])}, version: "1"`,
        `name: "${"-".repeat(g.int(1, 3))}${"a".repeat(g.int(200, 3000))}", version: "1"`,
        `name: "f"`,
        `name: "f", version: ${g.pick(['""', "1", "null", "{}"])}`,
        `name: "f", version: "1", description: ${g.pick(["1", "[]", "{}"])}`,
        `name: "f", version: "1", tags: ${g.pick(['"a"', "[1]", "{}"])}`,
        `name: "${g.junk(g.int(1, 12)).replace(/["\\\n\r]/g, "")}", version: "1"`,
        `get name() { throw new Error("getter"); }, version: "1"`,
      ]);
      return ["bad metadata", goodStack(undefined, meta)];
    },
    () => {
      const actions = g.pick([
        "",
        "actions: null",
        "actions: 1",
        'actions: "x"',
        "actions: { x: 1 }",
        "actions: { x: null }",
        'actions: { "bad name": () => 1 }',
        "actions: { get x() { throw new Error('getter'); } }",
      ]);
      return [
        "bad actions",
        `import { defineStack } from "hln";\nexport default defineStack({ name: "f", version: "1"${actions ? `, ${actions}` : ""} });\n`,
      ];
    },
    () => {
      const name = g.pick([
        "p",
        "bad name",
        "1x",
        "a.b",
        "",
        "x=y",
        g.junk(4).replace(/["\\\n\r]/g, ""),
      ]);
      const decl = g.pick([
        "1",
        "null",
        "{}",
        `{ type: "${g.pick(["weird", "", "String", "int"])}" }`,
        '{ type: "number", default: "x" }',
        '{ type: "number", default: Infinity }',
        '{ type: "number", default: NaN }',
        '{ type: "boolean", default: "yes" }',
        '{ type: "enum" }',
        '{ type: "enum", values: [] }',
        '{ type: "enum", values: ["a"], default: "b" }',
        '{ type: "string", choices: [1] }',
        '{ type: "list", default: [1, 2] }',
        '{ type: "secret", default: "s" }',
        '{ type: "string", required: "yes" }',
        '{ type: "string", env: "1BAD" }',
        '{ type: "string", env: "A-B" }',
        '{ type: "string", unknown: 1 }',
        '{ type: "path", mustExist: 1 }',
        '{ type: "string", description: 3 }',
      ]);
      const inputs = g.chance(0.15)
        ? g.pick(["[]", "1", '"x"', "null"])
        : `{ ${JSON.stringify(name)}: ${decl} }`;
      return [
        "bad input declaration",
        goodStack(`inputs: ${inputs}, actions: { x() { return 1; } }`),
      ];
    },
  ];
  const [what, text] = g.pick(shapes)();
  return {
    kind: "stack",
    what,
    argv: ["--log-format", "quiet", "do", "x", "--dir", dir],
    files: { "stack.ts": text },
    names: [file, dir],
  };
}

function actionCase(g: Gen, dir: string): Case {
  const file = join(dir, "stack.ts");
  const body = g.pick<[string, string]>([
    ["throw undefined", "throw undefined;"],
    ["throw null", "throw null;"],
    ["throw a number", "throw 0;"],
    ["throw a symbol", "throw Symbol('s');"],
    ["throw a string", `throw ${JSON.stringify(g.junk(g.int(0, 40)))};`],
    ["throw an object", "throw { code: 'X', message: 42 };"],
    ["throw a null-prototype object", "throw Object.create(null);"],
    ["throw with a throwing toString", "throw { toString() { throw new Error('no'); } };"],
    ["throw a Proxy", "throw new Proxy({}, { get() { throw new Error('trap'); } });"],
    ["throw a two-line message", "throw new Error('first\\nsecond');"],
    ["throw a huge message", "throw new Error('m'.repeat(200000));"],
    ["throw an escape sequence", "throw new Error('\\u001b[2J\\u001b[31mred');"],
    ["throw a cyclic cause", "const e = new Error('cyclic'); (e as any).cause = e; throw e;"],
    ["throw an AggregateError", "throw new AggregateError([new Error('a'), 1], 'many');"],
    ["throw a class instance", "throw new (class Weird { x = 1 })();"],
    [
      "throw with a throwing message getter",
      "const e = new Error('x'); Object.defineProperty(e, 'message', { get() { throw new Error('m'); } }); throw e;",
    ],
    [
      "throw with a throwing stack getter",
      "const e = new Error('x'); Object.defineProperty(e, 'stack', { get() { throw new Error('s'); } }); throw e;",
    ],
    ["reject with undefined", "return Promise.reject(undefined);"],
    ["return a function", "return () => 1;"],
    ["return a symbol", "return Symbol('s');"],
    ["return a cycle", "const o: any = {}; o.o = o; return o;"],
    ["return a throwing getter", "return { get x() { throw new Error('getter'); } };"],
    ["return a throwing toJSON", "return { toJSON() { throw new Error('toJSON'); } };"],
    ["return a Proxy", "return new Proxy({}, { ownKeys() { throw new Error('keys'); } });"],
    ["return deep nesting", "let o: any = 1; for (let i = 0; i < 100000; i++) o = [o]; return o;"],
    ["return a Map", "return new Map([[{}, 1]]);"],
    ["return a typed array", "return new Uint8Array(3);"],
    ["return an invalid date", "return new Date(NaN);"],
    ["return a WeakMap", "return new WeakMap();"],
    ["return a thenable that throws", "return { then() { throw new Error('then'); } };"],
    ["return a class instance", "return new (class P { #x = 1; })();"],
    ["return a bigint", "return 10n ** 30n;"],
  ]);
  const action = g.pick(["x", "build", "up-now", "a_b"]);
  return {
    kind: "action",
    what: body[0],
    argv: ["--log-format", "quiet", "do", action, "--dir", dir, "-o", g.pick(["yaml", "json"])],
    files: {
      "stack.ts": `import { defineStack } from "hln";\nexport default defineStack({ name: "f", version: "0.0.1", actions: { ${JSON.stringify(action)}() { ${body[1]} } } });\n`,
    },
    names: [file, `action "${action}"`, action],
    // Printable returns succeed: what counts is that none ends in 70 or a stack trace.
    mayPass: body[0].startsWith("return"),
  };
}

function valuesCase(g: Gen, dir: string): Case {
  const file = join(dir, g.pick(["values.yaml", "v.yml", "values.json", "no extension"]));
  const deep = (n: number, open: string, close: string) => open.repeat(n) + close.repeat(n);
  const gens: (() => [string, string | Buffer])[] = [
    () => ["bad YAML", g.mutate("name: x\ncount: 3\ntags: [a, b]\n", g.int(1, 6))],
    () => [
      "bad YAML",
      g.pick([
        "name: 'x\n",
        "a: b: c\n",
        "\tname: x\n",
        "- a\nb: c\n",
        "name: [x\n",
        "? [\n",
        "&a [*a]\n",
        "name: !!binary zz\n",
        "name: !!int x\n",
        "%YAML 9.9\n---\nname: x\n",
      ]),
    ],
    () => [
      "bad JSON",
      g.pick(['{"name": ', "[1, 2", '{"name": "x"}}', '{"name": "x" "count": 1}']),
    ],
    // YAML takes these JSON mistakes as YAML: valid, and run.
    () => ["JSON-like YAML", g.pick(['{name: "x"}', '{"count": 01}', '{"name": "x",}'])],
    () => ["not a mapping", g.pick(["- a\n- b\n", "42\n", "just text\n", "[]\n", "---\n---\n"])],
    () => ["empty", g.pick(["", "\n", "# comment\n", "---\n", "null\n", "~\n"])],
    () => [
      "wrong type",
      `${g.pick(["name", "count", "flag", "mode", "tags", "where", "src"])}: ${g.pick(["[1, 2]", "{a: 1}", "true", "3.5", "null", "~", "'x'", "-1", "0x10", ".nan", ".inf", "2020-01-01"])}\n`,
    ],
    () => [
      "unknown key",
      `${g.pick(["nmae", "Name", "'count '", "a.b", "inputs", "__proto__", "constructor", g.junk(5).replace(/[\n\r:#]/g, "")])}: 1\n`,
    ],
    () => [
      "huge number",
      `count: ${g.pick(["1e400", "-1e400", "99999999999999999999999", "1".repeat(5000)])}\n`,
    ],
    () => ["deep nesting", `name: ${deep(g.int(500, 20000), "[", "]")}\n`],
    () => [
      "deep nesting",
      `name:\n${Array.from({ length: g.int(50, 300) }, (_, i) => `${"  ".repeat(i + 1)}k${i}:`).join("\n")} 1\n`,
    ],
    () => [
      "alias bomb",
      `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\nname: *f\n`,
    ],
    () => ["binary junk", g.bytes(g.int(1, 400))],
    () => [
      "invalid UTF-8",
      Buffer.concat([
        Buffer.from("name: "),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]),
        Buffer.from("\n"),
      ]),
    ],
    () => ["duplicate keys", "name: a\nname: b\n"],
    () => [
      "secret literal",
      `token: ${g.pick(["hunter2", "'env:'", "{env: 1}", "{file: }", "[env:X]", "{command: [1]}"])}\n`,
    ],
    () => ["bad enum", `mode: ${g.pick(["c", "A", "''", "[a]"])}\n`],
    () => [
      "bad path",
      `where: ${g.pick(["''", `/nonexistent/${g.int(0, 9999)}`, "'\\0'", "[a]"])}\n`,
    ],
  ];
  const [what, text] = g.pick(gens)();
  const missing = g.chance(0.05);
  return {
    kind: "values",
    what: missing ? "missing file" : what,
    argv: [
      "--log-format",
      "quiet",
      "do",
      "x",
      "--dir",
      base,
      "-f",
      missing ? join(dir, "absent.yaml") : file,
    ],
    files: missing ? {} : { [relative(dir, file)]: text },
    names: [
      file,
      join(dir, "absent.yaml"),
      ...["name", "count", "flag", "mode", "tags", "where", "token", "src"].map((n) => `${n}`),
    ],
    // A file that happens to stay valid (a comment, a known key) runs the action.
    mayPass: ["empty", "bad YAML", "wrong type", "JSON-like YAML"].includes(what),
  };
}

function setCase(g: Gen, _dir: string): Case {
  const key = g.pick([
    "name",
    "count",
    "flag",
    "mode",
    "tags",
    "token",
    "where",
    "src",
    "nope",
    "",
    "a.b",
    "Count",
    "name ",
    " name",
    g.junk(3),
  ]);
  const value = g.pick([
    "",
    "x",
    g.junk(g.int(1, 30)),
    "1e400",
    "99999999999999999999999",
    "NaN",
    "-0",
    "0x1f",
    "maybe",
    "true",
    "c",
    "[a, b",
    "{a: 1}",
    "env:",
    "env:HLN_FUZZ_UNSET_VARIABLE",
    "env:1BAD",
    "file:",
    "file:/nonexistent/secret",
    `file:${root}`,
    "command:",
    "command:false",
    "command:exit 3",
    "command:hln-fuzz-no-such-command",
    "x".repeat(g.int(1000, 100000)),
    "/nonexistent/path",
    "~nouser/x",
  ]);
  const shape = g.int(0, 5);
  const arg =
    shape === 0
      ? key
      : shape === 1
        ? `=${value}`
        : shape === 2
          ? `${key}==${value}`
          : `${key}=${value}`;
  return {
    kind: "set",
    what: `--set ${shape === 0 ? "KEY" : shape === 1 ? "=VALUE" : "KEY=VALUE"}`,
    argv: [
      "--log-format",
      "quiet",
      "do",
      "x",
      "--dir",
      base,
      "--set",
      arg,
      ...(g.chance(0.2) ? ["--set", arg] : []),
    ],
    names: ["--set", key.trim() || "--set"],
    // A well-formed value for an optional input runs the action.
    mayPass: true,
  };
}

function ignoreCase(g: Gen, dir: string): Case {
  const name = g.pick([".dockerignore", ".hlnignore"]);
  const lines = Array.from({ length: g.int(1, 6) }, () =>
    g.pick([
      "[",
      "a[",
      "[a-",
      "[]",
      "[^]",
      "[z-a]",
      "\\",
      "a\\",
      "**/[",
      "!",
      "!!",
      "![",
      "\\[",
      "*",
      "**",
      "../x",
      "/abs/[",
      "# comment [",
      "a/**/b[",
      "[[:alpha:]]",
      "x".repeat(g.int(1, 5000)),
      g.junk(g.int(1, 20)),
      "\0",
      "\ufeff[",
      "a\r",
      "{a,b}",
      "?",
    ]),
  );
  const text = g.chance(0.1) ? g.bytes(g.int(1, 200)) : lines.join(g.pick(["\n", "\r\n"]));
  const file = join(dir, "src", name);
  return {
    kind: "ignore",
    what: `${name}: ${Buffer.isBuffer(text) ? "binary" : JSON.stringify(lines).slice(0, 60)}`,
    argv: ["--log-format", "quiet", "do", "dir", "--dir", base, "--set", `src=${join(dir, "src")}`],
    files: { [`src/${name}`]: text, "src/a.txt": "a\n" },
    names: [file],
    // Most of these lines are fine patterns: the directory is then read and the action ends.
    mayPass: true,
  };
}

function engineCase(g: Gen, _dir: string, deadPort: number): Case {
  const loop = g.pick(["127.0.0.1", "localhost", "[::1]", "127.9.9.9"]);
  const buildkit = g.pick([
    `tcp://${loop}:${deadPort}`,
    `tcp://${loop}`,
    `tcp://${loop}:`,
    `tcp://${loop}:0`,
    `tcp://${loop}:65536`,
    `tcp://${loop}:99999999`,
    `tcp://${loop}:-1`,
    `tcp://${loop}:abc`,
    "tcp://",
    "tcp:///x",
    `unix://${deadSocket}`,
    `unix://${root}`,
    `unix://${join(root, "home")}/`,
    `unix://${join(root, "x".repeat(200))}.sock`,
    "unix://",
    "unix:///",
    `unix://relative/${g.int(0, 99)}.sock`,
    `unix://${deadSocket}%00x`,
    "docker-container://",
    `docker-container://no-such-${g.int(0, 9999)}`,
    `docker-container://no-such?context=${g.pick(["", "nope", "../x"])}`,
    `http://${loop}:${deadPort}`,
    `https://${loop}:${deadPort}`,
    `npipe:////./pipe/x`,
    `ssh://${loop}:${deadPort}`,
    "fd://3",
    "",
    " ",
    "docker ",
    g.junk(g.int(1, 20)),
    `${g.pick(["tcp", "unix", "ssh", "TCP"])}:${g.junk(g.int(1, 10))}`,
  ]);
  const docker = g.pick([
    `unix://${deadSocket}`,
    `tcp://${loop}:${deadPort}`,
    `tcp://${loop}:${g.pick(["", "0", "70000", "x"])}`,
    `ssh://${loop}:${deadPort}`,
    `ssh://nobody@${loop}:${deadPort}`,
    "ssh://",
    `ssh://-oProxyCommand=false@${loop}`,
    `ssh://${loop}:notaport`,
    `npipe:////./pipe/docker_engine`,
    `fd://`,
    `http://${loop}:${deadPort}`,
    g.junk(g.int(1, 20)),
    "",
  ]);
  const via = g.int(0, 3);
  const command = g.pick([
    ["engine", "info"],
    ["do", "x", "--dir", base],
    ["status"],
    ["list", "apps"],
  ]);
  const env: Record<string, string> = { DOCKER_HOST: `unix://${deadSocket}` };
  const argv = ["--log-format", "quiet"];
  let names: string[];
  if (via === 0) {
    argv.push("--engine", buildkit);
    names = ["--engine", buildkit.trim(), deadSocket];
  } else if (via === 1) {
    env.BUILDKIT_HOST = buildkit;
    names = ["BUILDKIT_HOST", buildkit, deadSocket];
  } else if (via === 2) {
    env.DOCKER_HOST = docker;
    names = ["DOCKER_HOST", docker, deadSocket];
  } else {
    env.BUILDKIT_HOST = `tcp://${loop}:${deadPort}`;
    const tls = g.pick([
      ["--tlscacert", join(root, "nope.pem")],
      ["--tlscert", join(cwd, "notes.txt")],
      ["--tlsdir", root],
      ["--tlsdir", join(root, "nope")],
      ["--tlsservername", g.junk(5)],
    ]);
    argv.push(...tls);
    names = [...tls, "BUILDKIT_HOST", "BuildKit TLS"];
  }
  // An empty --engine is no engine named: the dead DOCKER_HOST answers for it, and
  // commands that need no BuildKit (list, status) name the Docker engine instead.
  names.push(deadSocket, `127.0.0.1:${deadPort}`, `${deadPort}`, "docker");
  return {
    kind: "engine",
    what:
      via === 0
        ? `--engine ${JSON.stringify(buildkit)}`
        : via === 1
          ? `BUILDKIT_HOST=${JSON.stringify(buildkit)}`
          : via === 2
            ? `DOCKER_HOST=${JSON.stringify(docker)}`
            : "TLS flags",
    argv: [...argv, ...command],
    env,
    names: names.filter((n) => n !== ""),
    // `list apps` and `status` with no apps may have nothing to ask an engine.
    // An empty DOCKER_HOST is unset, as the Docker CLI reads it: the local engine answers.
    mayPass: command[0] === "list" || command[0] === "status" || (via === 2 && docker === ""),
  };
}

// ---------------------------------------------------------------------------------------

class Recorder extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Every file below `dir` (symlinks not followed) with a digest of what it holds. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const name of entries) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(relative(dir, p), `dir ${st.mode}`);
        walk(p);
      } else if (st.isFile())
        out.set(relative(dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
      else out.set(relative(dir, p), `other ${st.mode}`);
    }
  };
  walk(dir);
  return out;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, h] of after)
    if (before.get(p) !== h) out.push(before.has(p) ? `changed ${p}` : `added ${p}`);
  for (const p of before.keys()) if (!after.has(p)) out.push(`removed ${p}`);
  return out;
}

interface Outcome {
  code: number;
  stderr: string;
  ms: number;
}

/** What is wrong with how the case ended, or undefined. */
function verdict(c: Case, r: Outcome): string | undefined {
  if (r.code === 70) return "exit 70 (a bug in hln)";
  if (/^\s+at .+/m.test(r.stderr)) return "a stack trace";
  if (r.code === 0) return c.mayPass ? undefined : "exit 0 for malformed input";
  const lines = r.stderr
    .trimEnd()
    .split("\n")
    .filter((l) => !l.startsWith("hln: warning:"));
  const first = lines[0] ?? "";
  if (!first.startsWith("hln: error: "))
    return `first stderr line is not the error: ${JSON.stringify(first.slice(0, 200))}`;
  const others = lines.slice(1).filter((l) => !/^ {2}(hint: |last output|\| )/.test(l));
  if (others.length > 0) return `more than one line: ${JSON.stringify(others[0]!.slice(0, 200))}`;
  if (!c.names.some((n) => first.includes(n)))
    return `the error names none of ${JSON.stringify(c.names.slice(0, 4))}`;
  return undefined;
}

async function runInProcess(c: Case): Promise<Outcome> {
  const stdout = new Recorder();
  const stderr = new Recorder();
  const started = performance.now();
  const code = await settlesWithin(
    `hln ${c.argv.join(" ").slice(0, 200)}`,
    main(c.argv, { env: { ...baseEnv(), ...c.env }, cwd, stdout, stderr, now: () => Date.now() }),
    30_000,
  );
  return { code, stderr: stderr.text, ms: performance.now() - started };
}

function writeFiles(dir: string, files: Record<string, string | Buffer> = {}): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

describe("fuzz", () => {
  it(`${caseCount} generated cases each end in one clean error (seed ${seed})`, async (t) => {
    t.diagnostic(`seed ${seed} (replay: HLN_FUZZ_SEED=${seed})`);
    const g = new Gen(mulberry32(seed));
    const deadPort = await freePort();
    const homeBefore = snapshot(home);
    const cwdBefore = snapshot(cwd);
    const baseBefore = snapshot(base);
    const kinds = [
      "stack",
      "stack",
      "action",
      "values",
      "values",
      "set",
      "set",
      "ignore",
      "engine",
      "engine",
    ] as const;
    const failures: string[] = [];
    const counts: Record<string, { n: number; passed: number; ms: number; max: number }> = {};
    const started = performance.now();
    for (let i = 0; i < caseCount; i++) {
      const dir = join(cases, String(i));
      mkdirSync(dir);
      const kind = g.pick(kinds);
      const c =
        kind === "stack"
          ? stackCase(g, dir)
          : kind === "action"
            ? actionCase(g, dir)
            : kind === "values"
              ? valuesCase(g, dir)
              : kind === "set"
                ? setCase(g, dir)
                : kind === "ignore"
                  ? ignoreCase(g, dir)
                  : engineCase(g, dir, deadPort);
      // HLN_FUZZ_ONLY=N replays case N of the seed alone (the others are still generated).
      if (only !== undefined && i !== only) continue;
      writeFiles(dir, c.files);
      const dirBefore = snapshot(dir);
      let r: Outcome;
      try {
        r = await runInProcess(c);
      } catch (err) {
        failures.push(`#${i} ${c.kind} (${c.what}): ${(err as Error).message}`);
        continue;
      }
      counts[c.kind] ??= { n: 0, passed: 0, ms: 0, max: 0 };
      const k = counts[c.kind]!;
      k.n++;
      k.ms += r.ms;
      k.max = Math.max(k.max, r.ms);
      if (r.code === 0) k.passed++;
      if (r.ms > 3000) t.diagnostic(`slow: #${i} ${c.kind} (${c.what}) ${r.ms.toFixed(0)} ms`);
      const wrong = verdict(c, r);
      if (process.env.HLN_FUZZ_LOG)
        appendFileSync(
          process.env.HLN_FUZZ_LOG,
          `#${i} ${c.kind} (${c.what}) exit ${r.code} ${r.ms.toFixed(0)} ms: ${JSON.stringify(r.stderr.slice(0, 300))} argv ${JSON.stringify(c.argv).slice(0, 300)} files ${JSON.stringify(Object.values(c.files ?? {}).map((f) => f.toString().slice(0, 300)))}\n`,
        );
      const changed = [
        ...changes(dirBefore, snapshot(dir)),
        ...changes(baseBefore, snapshot(base)).map((s) => `stack dir: ${s}`),
        ...changes(cwdBefore, snapshot(cwd)).map((s) => `cwd: ${s}`),
      ];
      if (wrong || changed.length > 0)
        failures.push(
          `#${i} ${c.kind} (${c.what}) hln ${c.argv.join(" ").slice(0, 160)}: ${wrong ?? ""}${changed.length ? ` changed: ${changed.slice(0, 3).join(", ")}` : ""} [exit ${r.code}] ${JSON.stringify(r.stderr.slice(0, 400))}`,
        );
    }
    const total = performance.now() - started;
    for (const [kind, k] of Object.entries(counts))
      t.diagnostic(
        `${kind}: ${k.n} cases, ${k.passed} valid and passed, mean ${(k.ms / k.n).toFixed(0)} ms, max ${k.max.toFixed(0)} ms`,
      );
    t.diagnostic(`${caseCount} cases in ${(total / 1000).toFixed(1)} s`);
    // The run's own caches (stack bundles, the secret fingerprint key) are what may change in HOME.
    const homeChanged = changes(homeBefore, snapshot(home)).filter(
      (s) =>
        !/^(added|changed|removed) (\.cache|\.local\/state)(\/hln(\/|$)|$)|^(added|changed|removed) \.local$/.test(
          s,
        ),
    );
    assert.deepEqual(homeChanged, [], "HOME changed outside hln's caches");
    assert.deepEqual(failures, [], `${failures.length} cases failed:\n${failures.join("\n")}`);
  });

  it("cases that need a process of their own end in one line too", async (t) => {
    const dir = join(root, "spawned");
    const stacks: [string, string][] = [
      ["module that never settles", `await new Promise(() => {});\nexport default 1;\n`],
      [
        "timer throw at load",
        `setTimeout(() => { throw 42; }, 0);\nawait new Promise((r) => setTimeout(r, 60_000));\nexport default 1;\n`,
      ],
    ];
    for (const [what, text] of stacks) {
      const d = join(dir, what.replace(/\W+/g, "-"));
      writeFiles(d, { "stack.ts": text });
      const r = await runCli(["--log-format", "quiet", "do", "x", "--dir", d], {
        env: { ...baseEnv(), DOCKER_HOST: `unix://${deadSocket}` },
        cwd,
        timeoutMs: 60_000,
      });
      t.diagnostic(`${what}: exit ${r.code} in ${r.ms.toFixed(0)} ms: ${r.stderr.split("\n")[0]}`);
      const wrong = verdict(
        { kind: "stack", what, argv: [], names: [d] },
        { code: r.code ?? -1, stderr: r.stderr, ms: r.ms },
      );
      assert.equal(wrong, undefined, `${what}: ${wrong}\n${r.stderr}`);
    }
  });
});
