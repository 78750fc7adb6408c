/**
 * The stack's own mistakes and the user's input end in one line that names the file, the
 * action or the flag, and an exit code that is not 70 ("a bug in hln"); no stack trace
 * without --debug. Run through the real binary, as a user would.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { nonce } from "../helpers/engine.js";
import { processes, until } from "../helpers/processes.js";
import { type CliResult, repoRoot, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A stack directory whose stack.ts has `actions` as its actions object's body. */
function stack(actions: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "hln-user-errors-"));
  dirs.push(dir);
  writeFileSync(
    join(dir, "stack.ts"),
    `import { defineStack } from "hln";\nexport default defineStack({ name: "u", version: "0.0.1", actions: {\n${actions}\n} });\n`,
  );
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** The `hln: error:` line, checked to be the only error line and free of stack traces. */
function errorLine(r: CliResult): string {
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("hln: error:"));
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m, `no stack trace: ${r.stderr}`);
  return lines[0]!;
}

function run(dir: string, action: string, extra: string[] = []): Promise<CliResult> {
  return runCli(["--log-format", "plain", "do", action, "--plan", dir, ...extra]);
}

describe("an action's own failures", () => {
  const dir = stack(`
  up() { throw new Error("boom from the stack"); },
  text() { throw "just text"; },
  async never() { await new Promise(() => {}); },
  async timer() { setTimeout(() => { throw new Error("timer boom"); }, 1); await new Promise((r) => setTimeout(r, 60_000)); },
  async floating() { void Promise.reject(new Error("nobody awaited me")); await new Promise((r) => setTimeout(r, 60_000)); },
  fn() { return { items: [1, 2, () => 3] }; },
  big() { return { n: 12345678901234567890n }; },
  circular() { const o: Record<string, unknown> = {}; o.self = o; return { o }; },
  map() { return { m: new Map([["a", new Set([1])]]) }; },
  leak({ dag }) { dag.setSecret("token", "hunter2-${nonce()}"); throw new Error("bad token hunter2-" + "x"); },`);

  it("a throw names the file and the action, exits 1, and --debug shows where", async () => {
    const r = await run(dir, "up");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      errorLine(r),
      `hln: error: ${join(dir, "stack.ts")}: action "up" failed: boom from the stack`,
    );
    const text = await run(dir, "text");
    assert.equal(text.code, 1, text.stderr);
    assert.match(errorLine(text), /action "text" failed: just text$/);
    const debug = await runCli(["--debug", "do", "up", "--plan", dir]);
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, new RegExp(`at up \\(${join(dir, "stack.ts")}:4:\\d+\\)`));
  });

  it("a promise that never settles is one line, not exit 13", async () => {
    const r = await run(dir, "never");
    assert.equal(r.code, 1, r.stderr);
    assert.match(errorLine(r), /stack\.ts: action "never" returned a promise that never settled$/);
  });

  it("a throw from a timer and an unawaited rejection end the run in one line", async () => {
    const timer = await run(dir, "timer");
    assert.equal(timer.code, 1, timer.stderr);
    assert.match(errorLine(timer), /action "timer": a timer or callback threw: timer boom$/);
    const floating = await run(dir, "floating");
    assert.equal(floating.code, 1, floating.stderr);
    assert.match(
      errorLine(floating),
      /action "floating": a promise it did not await failed: nobody awaited me$/,
    );
  });

  it("a result that cannot be printed names its path, in YAML and JSON alike", async () => {
    for (const output of ["yaml", "json"]) {
      const fn = await run(dir, "fn", ["--output", output]);
      assert.equal(fn.code, 1, fn.stderr);
      assert.match(
        errorLine(fn),
        /action "fn" returned result\.items\[2\]: a function cannot be printed$/,
      );
      assert.equal(fn.stdout, "");
      const circular = await run(dir, "circular", ["--output", output]);
      assert.equal(circular.code, 1, circular.stderr);
      assert.match(errorLine(circular), /result\.o\.self: a circular reference \(to result\.o\)/);
    }
    const big = await run(dir, "big", ["--output", "json"]);
    assert.equal(big.code, 0, big.stderr);
    assert.equal(big.stdout, '{\n  "n": 12345678901234567890\n}\n');
    const map = await run(dir, "map", ["--output", "json"]);
    assert.equal(map.code, 0, map.stderr);
    assert.deepEqual(JSON.parse(map.stdout), { m: { a: [1] } });
  });

  it("a value of the wrong type given to the SDK names the call, not a bug in hln", async () => {
    const js = mkdtempSync(join(tmpdir(), "hln-user-errors-"));
    dirs.push(js);
    // A .js stack has no type checker to catch these before the run.
    writeFileSync(
      join(js, "stack.js"),
      `import { defineStack } from "hln";
export default defineStack({ name: "js", version: "0.0.1", actions: {
  exec({ dag }) { return dag.container().from("busybox").withExec("ls").stdout(); },
  host({ dag }) { return dag.host().directory(undefined); },
} });
`,
    );
    for (const [action, call] of [
      ["exec", "withExec"],
      ["host", "directory"],
    ]) {
      const r = await run(join(js, "stack.js"), action!);
      assert.equal(r.code, 1, r.stderr);
      assert.match(errorLine(r), new RegExp(`stack\\.js: action "${action}": ${call}\\(\\): `));
    }
  });

  it("only the stack's own actions can be run, not what every object inherits", async () => {
    for (const name of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      const r = await run(dir, name);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(errorLine(r), new RegExp(`has no action "${name}" \\(actions: up, `));
      assert.equal(r.stdout, "");
    }
  });

  it("the final line goes through the secret redactor", async () => {
    const r = await run(dir, "leak");
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /hunter2-[0-9a-f]{12}/);
  });
});

describe("a fault while a step runs", () => {
  it("cancels the step on the engine", async () => {
    const marker = `hln-fault-${nonce()}`;
    const flag = join(mkdtempSync(join(tmpdir(), "hln-fault-")), "throw-now");
    dirs.push(join(flag, ".."));
    const dir = stack(`
  async up({ dag }) {
    const { existsSync } = await import("node:fs");
    setInterval(() => { if (existsSync(${JSON.stringify(flag)})) throw new Error("timer boom"); }, 100);
    await dag.container().from("busybox").withExec(["sh", "-c", "sleep 300; echo ${marker}"]).sync();
  },`);
    const done = run(dir, "up");
    await until("the step runs", () => processes(marker).length > 0);
    writeFileSync(flag, "");
    const r = await done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(errorLine(r), /action "up": a timer or callback threw: timer boom$/);
    await until("the step is stopped on the engine", () => processes(marker).length === 0);
  });
});

describe("Ctrl-C while the action awaits something of its own", () => {
  it("ends the run with 130", async () => {
    const flag = join(mkdtempSync(join(tmpdir(), "hln-wait-")), "waiting");
    dirs.push(join(flag, ".."));
    const dir = stack(`
  async up({ dag }) {
    await dag.container().from("busybox").withExec(["true"]).sync();
    (await import("node:fs")).writeFileSync(${JSON.stringify(flag)}, "");
    await new Promise((r) => setTimeout(r, 3_600_000));
  },`);
    const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));
    const child = spawn(
      process.execPath,
      [bin, "--log-format", "plain", "do", "up", "--plan", dir],
      {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = new Promise<number | null>((r) => child.once("close", r));
    await until("the action waits", () => existsSync(flag));
    child.kill("SIGINT");
    // Kill-safety, not a speed check: a run that ignores Ctrl-C fails here instead of hanging.
    const safety = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const exit = await code;
    clearTimeout(safety);
    assert.equal(exit, 130, stderr);
    assert.match(stderr, /^hln: error: cancelled$/m);
  });
});

describe("work the action left running", () => {
  it("is waited for, and its failure is one line", async () => {
    const n = nonce();
    const dir = stack(`
  async ok({ dag }) {
    void dag.container().from("busybox").withExec(["sh", "-c", "sleep 1; echo ${n}"]).stdout();
    return "returned";
  },
  async fails({ dag }) {
    void dag.container().from("busybox").withExec(["sh", "-c", "echo ${n}; exit 3"]).stdout();
    return "returned";
  },`);
    const ok = await run(dir, "ok");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "returned\n");
    assert.match(ok.stderr, /hln: warning: 1 request nobody awaited was still running/);
    assert.match(ok.stderr, new RegExp(`sleep 1; echo ${n}`));
    const fails = await run(dir, "fails");
    assert.equal(fails.code, 1, fails.stderr);
    assert.match(
      errorLine(fails),
      new RegExp(`process "sh -c echo ${n}; exit 3" exited with code 3`),
    );
  });

  it("includes exports, whose destination is checked before their solve starts", async () => {
    const n = nonce();
    const out = join(tempDir("hln-late-"), "sub", "late.txt");
    const dir = stack(`
  async late({ dag }) {
    void dag.container().from("busybox").withExec(["sh", "-c", "echo ${n} > /f"]).file("/f").export(${JSON.stringify(out)});
    return "returned";
  },`);
    const r = await run(dir, "late");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /hln: warning: 1 request nobody awaited was still running/);
    assert.equal(readFileSync(out, "utf8"), `${n}\n`);
  });
});

describe("what the kernel would refuse at exec", () => {
  it("fails while the graph is built, naming the call", async () => {
    const dir = stack(`
  async bigenv({ dag }) {
    return dag.container().from("busybox").withEnvVariable("BIG", "x".repeat(200_000)).withExec(["true"]).stdout();
  },
  async nul({ dag }) {
    return dag.container().from("busybox").withExec(["echo", "a\\0b"]).stdout();
  },`);
    const big = await run(dir, "bigenv");
    assert.equal(big.code, 2, big.stderr);
    assert.match(
      errorLine(big),
      /withEnvVariable\("BIG"\): the variable is 200005 bytes; Linux passes at most 131072 bytes/,
    );
    const nul = await run(dir, "nul");
    assert.equal(nul.code, 2, nul.stderr);
    assert.match(errorLine(nul), /withExec: argument 1 contains a NUL byte/);
  });
});

describe("the final line names the cause", () => {
  it("of a secret that cannot be read, an unknown user, a step that could not start", async () => {
    const n = nonce();
    const dir = stack(`
  async file({ dag }) {
    const s = dag.secretFromFile("/nonexistent/hln-secret");
    return dag.container().from("busybox").withMountedSecret("/s", s).withExec(["cat", "/s"]).stdout();
  },
  async command({ dag }) {
    const s = dag.secretFromCommand(["false"], { name: "token" });
    return dag.container().from("busybox").withSecretVariable("T", s).withExec(["sh", "-c", "echo $T"]).stdout();
  },
  async missing({ dag }) {
    const s = dag.secretFromCommand(["/nonexistent/hln-helper"], { name: "token" });
    return dag.container().from("busybox").withSecretVariable("T", s).withExec(["sh", "-c", "echo $T"]).stdout();
  },
  async workdir({ dag }) {
    return dag.container().from("busybox").withWorkdir("/etc/passwd").withExec(["pwd", "${n}"]).stdout();
  },
  async user({ dag }) {
    return dag.container().from("busybox").withUser("nobody2").withExec(["id", "${nonce()}"]).stdout();
  },`);
    const cases: [string, number, string][] = [
      ["file", 2, 'hln: error: secretFromFile("/nonexistent/hln-secret"): no such file'],
      ["command", 2, 'hln: error: secretFromCommand(["false"]): exited with code 1'],
      [
        "missing",
        2,
        'hln: error: secretFromCommand(["/nonexistent/hln-helper"]): cannot run /nonexistent/hln-helper: no such command',
      ],
      [
        "workdir",
        1,
        `hln: error: process "pwd ${n}" did not run: mkdir /etc/passwd: not a directory`,
      ],
      [
        "user",
        1,
        'hln: error: withUser("nobody2"): unable to find user nobody2: no matching entries in passwd file',
      ],
    ];
    for (const [action, code, line] of cases) {
      const r = await run(dir, action);
      assert.equal(r.code, code, `${action}: ${r.stderr}`);
      assert.equal(errorLine(r), line);
      // Only the step that ran prints its last output under the line.
      if (action !== "workdir")
        assert.equal(r.stderr.trimEnd().split("\n").at(-1), line, "it is the last line");
    }
  });
});

describe("a bad ignore file", () => {
  it("is named with its line, exit 2, before anything is sent", async () => {
    const dir = stack(
      `async up({ dag }) {
    return dag.container().from("busybox").withDirectory("/src", dag.host().directory(new URL("./ctx", import.meta.url).pathname)).withExec(["ls", "/src"]).stdout();
  },`,
      { "ctx/a.txt": "a\n", "ctx/.dockerignore": "a.txt\n# [\n\n[\n" },
    );
    const r = await runCli(["--log-format", "plain", "do", "up", "--plan", dir], {
      env: {},
    });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      errorLine(r),
      `hln: error: ${join(dir, "ctx", ".dockerignore")}:4: syntax error in pattern "["`,
    );
  });
});

describe("a failed step that is not a command", () => {
  it("is named in the final line as progress names it", async () => {
    const dir = stack(
      `async up({ dag }) {
    const built = await dag.host().directory(new URL("./ctx", import.meta.url).pathname).dockerBuild();
    await built.sync();
  },`,
      { "ctx/Dockerfile": `FROM busybox\nCOPY nothere-${nonce()} /x\n` },
    );
    const r = await run(dir, "up");
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      errorLine(r),
      /^hln: error: \[2\/2\] COPY nothere-\w+ \/x: "\/nothere-\w+": not found$/,
    );
  });
});

describe("engine errors", () => {
  it("reach the user without gRPC wrapping, internal refs or the engine's mount paths", async () => {
    const dir = stack(`
  async copy({ dag }) {
    const b = dag.container().from("busybox");
    return b.withDirectory("/d", b.directory("/nonexistent-${nonce()}")).withExec(["ls", "/d"]).stdout();
  },
  async read({ dag }) {
    return dag.container().from("busybox").withExec(["mkdir", "-p", "/d-${nonce()}"]).file("/etc").contents();
  },`);
    for (const [action, line] of [
      // Either BuildKit's walk or its cache-key lookup reports it, depending on the cache.
      [
        "copy",
        /^hln: error: copy \/nonexistent-\w+ to \/d: .*\/nonexistent-\w+"?: (not found|no such file or directory)$/,
      ],
      ["read", /^hln: error: read \/etc: is a directory$/],
    ] as const) {
      const r = await run(dir, action);
      assert.equal(r.code, 1, r.stderr);
      assert.match(errorLine(r), line);
      assert.doesNotMatch(errorLine(r), /buildkit-mount|rpc error|checksum of ref|cache key/);
    }
  });
});

describe("stack files", () => {
  it("a syntax error keeps its line, column and reason; .js loads as ESM; .cjs is explained", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hln-user-errors-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "syntax.ts"),
      'import { defineStack } from "hln";\nexport default defineStack({\n  name: "s", version: "1", actions: { up() { return 1 x } } });\n',
    );
    const body = `defineStack({ name: "j", version: "0.0.1", actions: { up() { return "js ran"; } } })`;
    writeFileSync(
      join(dir, "stack.js"),
      `import { defineStack } from "hln";\nexport default ${body};\n`,
    );
    writeFileSync(
      join(dir, "stack.cjs"),
      `const { defineStack } = require("hln");\nmodule.exports = ${body};\n`,
    );
    const syntax = await run(join(dir, "syntax.ts"), "up");
    assert.equal(syntax.code, 2, syntax.stderr);
    assert.equal(
      errorLine(syntax),
      `hln: error: ${join(dir, "syntax.ts")}:3:55: Expected ";" but found "x"`,
    );
    const js = await run(join(dir, "stack.js"), "up");
    assert.equal(js.code, 0, js.stderr);
    assert.equal(js.stdout, "js ran\n");
    const cjs = await run(join(dir, "stack.cjs"), "up");
    assert.equal(cjs.code, 2, cjs.stderr);
    assert.match(
      errorLine(cjs),
      /stack\.cjs: a stack is an ES module .*name it \.ts, \.mts, \.js or \.mjs$/,
    );
  });
});

describe("flags and usage", () => {
  it("are checked before the engine is touched, in one line naming the flag", async () => {
    const dir = stack(`up() { return "ran"; },`);
    // No engine answers here: a check that came after the engine would say so instead.
    const env = { DOCKER_HOST: "unix:///nonexistent/hln.sock" };
    const cases: [string[], string][] = [
      [
        ["do", "up", "--plan", dir, "--cache-to", ""],
        'hln: error: --cache-to "": expected a registry ref',
      ],
      [
        ["do", "up", "--plan", dir, "--cache-from", ""],
        'hln: error: --cache-from "": expected a registry ref',
      ],
      [
        ["do", "up", "--plan", dir, "--cache-to", "type=local,dest=/proc/hln-cache"],
        "hln: error: --cache-to type=local,dest=/proc/hln-cache: cannot create /proc/hln-cache",
      ],
      [
        ["do", "up", "--plan", dir, "--cache-to", "type=registry,ref=r.example/a,mode=all"],
        "hln: error: --cache-to type=registry,ref=r.example/a,mode=all: mode=all: expected min or max",
      ],
      [["engine", "du", "--output", "xml"], "hln: error: --output xml: expected yaml or json"],
      [["engine", "info", "--output", "xml"], "hln: error: --output xml: expected yaml or json"],
      [
        ["--tlscacert", "/nonexistent/ca.pem", "--engine", "tcp://127.0.0.1:1", "engine", "info"],
        "hln: error: --tlscacert /nonexistent/ca.pem: cannot read (no such file)",
      ],
      [
        ["--tlsdir", "/nonexistent", "--engine", "tcp://127.0.0.1:1", "engine", "info"],
        "hln: error: --tlsdir /nonexistent: holds none of",
      ],
    ];
    for (const [args, first] of cases) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(first), `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    }
  });

  it("set by a variable are named by the variable", async () => {
    const dir = stack(`up() { return "ran"; },`);
    const cases: [NodeJS.ProcessEnv, string[], string][] = [
      [
        { HLN_LOG_FORMAT: "bogus" },
        ["do", "up", "--plan", dir],
        "hln: error: HLN_LOG_FORMAT=bogus: expected auto",
      ],
      [
        { HLN_SILENCE_TIMEOUT: "soon" },
        ["do", "up", "--plan", dir],
        "hln: error: HLN_SILENCE_TIMEOUT=soon: expected a duration",
      ],
      [
        { DOCKER_HOST: "bogus://x" },
        ["engine", "info"],
        'hln: error: Docker host "bogus://x": scheme bogus:// is not supported (use unix://, tcp:// or ssh://) (engine from DOCKER_HOST)',
      ],
    ];
    for (const [env, args, first] of cases) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.startsWith(first), r.stderr);
    }
  });

  it("a missing stack or action is one line and a hint, not the usage text", async () => {
    const cases: [string[], string][] = [
      [
        ["do", "up"],
        "hln: error: do: no stack named, and no stack.ts here: pass -s NAME (see hln list stacks) or --dir DIR",
      ],
      [["do", "--dir", "."], "hln: error: do: missing ACTION"],
      [["do", "up", "--dir"], "hln: error: do: --dir DIR: the value is missing"],
      [["do", "up", "-s"], "hln: error: do: --stack STACK: the value is missing"],
      [["engine", "nope"], "hln: error: engine: unknown command 'nope'"],
    ];
    for (const [args, first] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.deepEqual(lines, [first, `  hint: hln ${args[0]} --help`], r.stderr);
    }
  });
});

describe("a reader that goes away", () => {
  it("ends hln quietly with 141, as it does cat", async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${"x".repeat(80)}`);
    const dir = stack(`up() { return ${JSON.stringify(lines)}; },`);
    const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));
    const child = spawn(process.execPath, [bin, "do", "up", "--plan", dir], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    // Read one chunk, then close the pipe, as `head -c1` does.
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.once("close", r));
    assert.equal(code, 141, stderr);
    assert.equal(stderr, "");
  });
});
