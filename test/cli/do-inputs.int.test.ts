/**
 * `hln do` gathers a stack's inputs from every source, in the documented order, and turns
 * every bad one into one line before any engine work: the bad-input runs point DOCKER_HOST
 * at a socket that does not exist, so a run that reached for the engine would fail with
 * exit 3 instead of the input error under test.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { type CliResult, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "inputs-demo",
  version: "1.0.0",
  description: "every input type",
  inputs: {
    port: { type: "number", default: 8080, env: "DEMO_PORT" },
    size: { type: "enum", values: ["s", "m", "l"], default: "s" },
    src: { type: "path", default: "." },
    origins: { type: "list", default: [] },
    fast: { type: "boolean", default: false },
    label: { type: "string", default: "from-default", env: "DEMO_LABEL" },
    token: { type: "secret", env: "DEMO_TOKEN" },
  },
  actions: {
    async up({ dag, inputs }) {
      const checked = await dag
        .container()
        .from("busybox")
        // Secrets are not part of cache keys: the label makes each run's step its own.
        .withEnvVariable("RUN", inputs.label)
        .withSecretVariable("T", inputs.token)
        .withExec(["sh", "-c", 'test "$T" = "$(printf %s hunter2-s3cret)" && echo secret-ok || echo secret-wrong'])
        .stdout();
      return {
        port: inputs.port, size: inputs.size, src: inputs.src, origins: inputs.origins,
        fast: inputs.fast, label: inputs.label, secret: checked.trim(),
      };
    },
    show({ inputs }) {
      return { port: inputs.port, size: inputs.size, src: inputs.src, origins: inputs.origins,
        fast: inputs.fast, label: inputs.label, token: typeof inputs.token };
    },
  },
});
`;

const secret = "hunter2-s3cret";
const dir = tempDir("hln-do-inputs-");
const stackDir = join(dir, "stack");
mkdirSync(stackDir);
writeFileSync(join(stackDir, "stack.ts"), stackSource);
const work = join(dir, "work");
mkdirSync(join(work, "src"), { recursive: true });
mkdirSync(join(work, "conf", "app"), { recursive: true });
writeFileSync(join(work, "token.txt"), `${secret}\n`);

/** No engine: an input error must come before any engine work. */
const noEngine = { DOCKER_HOST: `unix://${join(dir, "no-engine.sock")}`, BUILDKIT_HOST: "" };

function run(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return runCli(["--log-format", "plain", "do", ...args, "--dir", stackDir, "-o", "json"], {
    cwd: work,
    env,
    input,
  });
}

function json(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("hln do: inputs from every source", () => {
  it("takes defaults, then declared variables, then -f files in order, then --set", async () => {
    writeFileSync(join(work, "conf", "a.yaml"), "port: 81\nlabel: from-a\nsize: m\n");
    writeFileSync(join(work, "conf", "b.yaml"), "# later file wins\nlabel: from-b\nsrc: app\n");
    const r = await run(
      [
        "show",
        "-f",
        "conf/a.yaml",
        "-f",
        "conf/b.yaml",
        "--set",
        "size=l",
        "--set",
        "size=s",
        "--set",
        "origins=https://a.example,https://b.example",
        "--set",
        "fast=true",
        "--set",
        "token=env:OTHER_TOKEN",
      ],
      { DEMO_PORT: "9090", DEMO_LABEL: "from-env", OTHER_TOKEN: secret },
    );
    assert.deepEqual(json(r), {
      port: 81, // a.yaml over DEMO_PORT
      size: "s", // the last --set
      src: join(work, "conf", "app"), // relative to the values file that gave it
      origins: ["https://a.example", "https://b.example"],
      fast: true,
      label: "from-b", // b.yaml over a.yaml over DEMO_LABEL
      token: "object",
    });
  });

  it("fills an input from its declared variable, and a path from the working directory", async () => {
    const r = await run(["show", "--set", "src=src"], {
      DEMO_PORT: "9090",
      DEMO_TOKEN: secret,
    });
    const out = json(r);
    assert.equal(out.port, 9090);
    assert.equal(out.src, join(work, "src"));
    assert.equal(out.label, "from-default");
  });

  it("-i asks for what is still missing, reading answers from a pipe", async () => {
    const r = await run(["show", "-i"], {}, `${secret}\n`);
    assert.equal(json(r).token, "object");
    assert.match(r.stderr, /token/);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), "the answer is not echoed");
  });

  it("hands a secret input to steps as a Secret, and never prints its value", async () => {
    const r = await run([
      "up",
      "--set",
      `token=file:${join(work, "token.txt")}`,
      "--set",
      `label=${nonce()}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret));
    // file: keeps the file's bytes, its newline too.
    assert.equal(json(r).secret, "secret-wrong");
    const viaEnv = await run(["up", "--set", `label=${nonce()}`], { DEMO_TOKEN: secret });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(json(viaEnv).secret, "secret-ok");
    assert.ok(!viaEnv.stdout.includes(secret) && !viaEnv.stderr.includes(secret));
  });
});

/** Each bad input: exit 2, exactly one error line, no stack trace, and nothing written. */
describe("hln do: bad inputs fail in one line before any engine work", () => {
  const bad = join(work, "bad");
  mkdirSync(bad);
  const files: Record<string, string> = {
    "not-yaml.yaml": "port: [1, 2\n",
    "list.yaml": "- port\n- 80\n",
    "wrong-type.yaml": "size: m\n\nport: eighty\n",
    "unknown.yaml": "port: 80\nprot: 81\n",
    "secret-literal.yaml": `token: ${secret}\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(bad, name), text);
  const cases: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    [
      "a values file that is not YAML",
      ["-f", "bad/not-yaml.yaml"],
      /^bad\/not-yaml\.yaml:\d+:\d+: /,
    ],
    ["a values file that is a list", ["-f", "bad/list.yaml"], /^bad\/list\.yaml: .*mapping.*list/],
    [
      "a values file with a wrong type",
      ["-f", "bad/wrong-type.yaml"],
      /^bad\/wrong-type\.yaml:3:7: port: expected a number, got "eighty"$/,
    ],
    [
      "a values file with an unknown key",
      ["-f", "bad/unknown.yaml"],
      /^bad\/unknown\.yaml:2:1: .*prot.*port, size, src, origins, fast, label, token/,
    ],
    ["a secret given as a literal in a values file", ["-f", "bad/secret-literal.yaml"], /token/],
    ["--set without =", ["--set", "port"], /--set port/],
    ["--set of an unknown input", ["--set", "nope=1"], /--set nope.*inputs: port/],
    ["--set with a wrong type", ["--set", "port=eighty"], /--set port=eighty: expected a number/],
    ["an enum value outside its list", ["--set", "size=xl"], /--set size=xl: .*s, m, l/],
    ["a path that does not exist", ["--set", "src=missing-dir"], /missing-dir.*does not exist/],
    ["a secret as a literal --set", ["--set", `token=${secret}`], /--set token.*env:/],
    [
      "a missing required input without -i",
      [],
      /token.*required.*--set token=.*DEMO_TOKEN.*-i/,
      { DEMO_TOKEN: undefined },
    ],
    ["a secret from an unset variable", ["--set", "token=env:NOPE_UNSET"], /NOPE_UNSET is not set/],
    ["-i with nothing to read", ["-i"], /token/],
  ];
  for (const [name, args, message, env] of cases) {
    it(name, async () => {
      const before = readdirSync(work, { recursive: true }).sort();
      const r = await run(["show", ...args], { ...noEngine, ...env });
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      const errors = lines.filter((l) => l.startsWith("hln: error: "));
      assert.equal(errors.length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m);
      assert.match(errors[0]!.slice("hln: error: ".length), message);
      assert.ok(!r.stderr.includes(secret), "no secret value in the error");
      assert.deepEqual(readdirSync(work, { recursive: true }).sort(), before, "nothing written");
      // A printed line for the note's table.
      console.log(`| ${name} | ${r.code} | \`${errors[0]}\` |`);
    });
  }

  it("a values file given as the stack is not run as code", async () => {
    writeFileSync(join(dir, "values.yaml"), "greeting: hi\n");
    const r = await runCli(["do", "up", "--dir", "values.yaml"], { cwd: dir, env: noEngine });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr.split("\n")[0],
      "hln: error: values.yaml: not a stack module: name a .ts or .js file, or a directory holding stack.ts (values files go with -f)",
    );
  });

  it("a stack that does not compile is named with its file and line", async () => {
    const broken = join(dir, "broken");
    mkdirSync(broken);
    writeFileSync(
      join(broken, "stack.ts"),
      'import { defineStack } from "hln";\nexport default defineStack({\n  name: "b" version: "1",\n});\n',
    );
    const r = await runCli(["do", "up", "--dir", broken], { cwd: dir, env: noEngine });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^hln: error: broken\/stack\.ts:3:\d+: /m);
    console.log(
      `| a stack.ts that does not compile | ${r.code} | \`${r.stderr.split("\n")[0]}\` |`,
    );
  });
});
