import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { rejection } from "../../test/helpers/rejection.js";
import { tempDir } from "../../test/helpers/temp-dir.js";
import { HlnError } from "../errors.js";
import { Secret } from "../sdk/secret.js";
import type { InputDeclarations } from "./define-stack.js";
import {
  describeInputType,
  type InputQuestion,
  type InputSources,
  type Prompter,
  resolveInputs,
} from "./inputs.js";

const decl = {
  greeting: { type: "string", default: "hello" },
  size: { type: "string", choices: ["s", "m"], default: "s" },
  rounds: { type: "number", default: 3 },
  fast: { type: "boolean", default: false },
  token: { type: "string" },
} as const satisfies InputDeclarations;

const password = "hunter2-Sekr1t";

const shop = {
  name: "shop",
  inputs: {
    port: { type: "number", default: 8080, env: "SHOP_PORT" },
    size: { type: "enum", values: ["s", "m", "l"], default: "s" },
    data: { type: "path", default: "." },
    tags: { type: "list", default: ["web"] },
    dbPassword: { type: "secret", env: "SHOP_DB_PASSWORD" },
    note: { type: "string", required: false },
  },
} as const satisfies { name: string; inputs: InputDeclarations };

/** A directory with the given files, and `cwd` for the sources. */
function workdir(files: Record<string, string> = {}): string {
  const dir = tempDir("hln-inputs-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** The message of the error resolving `stack` with `sources` throws. */
async function message(
  stack: { name: string; inputs: InputDeclarations },
  sources: InputSources,
): Promise<string> {
  const e = await rejection(resolveInputs(stack, sources));
  assert.equal(e.code, "E_INPUT_INVALID", e.message);
  assert.ok(!e.message.includes("\n"), "one line");
  return e.message;
}

/** The shop stack with its secret given, so that other inputs can be tested alone. */
function shopSources(cwd: string, more: InputSources = {}): InputSources {
  return { ...more, cwd, env: { SHOP_DB_PASSWORD: password, ...more.env } };
}

describe("resolveInputs: --set (ported)", () => {
  const s = { name: "s", inputs: decl };
  const d = { name: "demo", inputs: decl };

  it("fills defaults and converts --set values by declared type", async () => {
    const r = await resolveInputs(s, {
      sets: ["token=t", "rounds=7", "fast=true", "greeting=a=b"],
      env: {},
    });
    assert.deepEqual(r.values, { greeting: "a=b", size: "s", rounds: 7, fast: true, token: "t" });
  });

  it("names the flag and lists the inputs for an unknown key, without its value", async () => {
    assert.equal(
      await message(d, { sets: ["token=t", "nope=1"], env: {} }),
      '--set nope: stack "demo" has no input named nope (inputs: greeting, size, rounds, fast, token)',
    );
  });

  it("rejects bad values with the flag in the message", async () => {
    const cases: [string, string][] = [
      ["rounds=x", "--set rounds=x: expected a number"],
      ["rounds=", "--set rounds=: expected a number"],
      ["rounds=0x10", "--set rounds=0x10: expected a number"],
      ["rounds=Infinity", "--set rounds=Infinity: expected a number"],
      [
        "rounds=-9007199254740993",
        "--set rounds=-9007199254740993: expected an integer of at most 9007199254740991 in size",
      ],
      ["fast=yes", "--set fast=yes: expected true or false"],
      ["fast=1", "--set fast=1: expected true or false"],
      ["size=xl", "--set size=xl: expected one of s, m"],
      ["token", "--set token: expected key=value"],
      ["=x", "--set =...: expected key=value, and the key is empty"],
    ];
    for (const [flag, expected] of cases) {
      assert.equal(await message(s, { sets: ["token=t", flag], env: {} }), expected);
    }
  });

  it("requires inputs without a default", async () => {
    assert.equal(
      await message(d, { env: {} }),
      'input token of stack "demo" is required: pass --set token=..., put it in a values file (-f), or use -i',
    );
  });

  it("never treats a --set value as a path unless the input is one", async () => {
    const cwd = workdir();
    const r = await resolveInputs(s, {
      sets: ["token=~/x", "greeting=./a/../b"],
      env: { HOME: "/home/u" },
      cwd,
    });
    assert.equal(r.values.token, "~/x");
    assert.equal(r.values.greeting, "./a/../b");
  });

  it("keeps the last --set of a key", async () => {
    const r = await resolveInputs(s, {
      sets: ["token=a", "rounds=x", "rounds=5", "token=b"],
      env: {},
    });
    assert.equal(r.values.token, "b");
    assert.equal(r.values.rounds, 5);
  });
});

describe("resolveInputs: precedence and origins", () => {
  it("default < env < each -f in order < each --set in order", async () => {
    const cwd = workdir({ "a.yaml": "port: 1\nsize: m\n", "b.yaml": "port: 2\n" });
    const stack = shop;
    const base: InputSources = { cwd, env: { SHOP_DB_PASSWORD: password } };
    const port = async (more: InputSources) =>
      (await resolveInputs(stack, { ...base, ...more, env: { ...base.env, ...more.env } })).values
        .port;
    assert.equal(await port({}), 8080);
    assert.equal(await port({ env: { SHOP_PORT: "9000" } }), 9000);
    assert.equal(await port({ env: { SHOP_PORT: "9000" }, valuesFiles: ["a.yaml"] }), 1);
    assert.equal(await port({ valuesFiles: ["a.yaml", "b.yaml"] }), 2);
    assert.equal(await port({ valuesFiles: ["b.yaml", "a.yaml"] }), 1);
    assert.equal(await port({ valuesFiles: ["a.yaml"], sets: ["port=3", "port=4"] }), 4);

    const r = await resolveInputs(stack, {
      ...base,
      env: { SHOP_PORT: "9000", SHOP_DB_PASSWORD: password },
      valuesFiles: ["a.yaml", "b.yaml"],
      sets: ["tags=a,b"],
    });
    assert.deepEqual(r.origins, {
      port: { from: "values", file: join(cwd, "b.yaml"), line: 1, column: 7 },
      size: { from: "values", file: join(cwd, "a.yaml"), line: 2, column: 7 },
      data: { from: "default" },
      tags: { from: "set" },
      dbPassword: { from: "env", variable: "SHOP_DB_PASSWORD" },
      note: { from: "absent" },
    });
    assert.deepEqual(r.recorded, {
      port: 2,
      size: "m",
      data: cwd,
      tags: ["a", "b"],
      dbPassword: "env:SHOP_DB_PASSWORD",
    });
    assert.ok(Object.hasOwn(r.values, "note"), "an absent input is a key of values");
    assert.equal(r.values.note, undefined);
  });

  it("an optional input with no default is absent, and not asked", async () => {
    const asked: string[] = [];
    const r = await resolveInputs(shop, {
      cwd: workdir(),
      env: {},
      prompt: async (q) => {
        asked.push(q.name);
        return password;
      },
    });
    assert.deepEqual(asked, ["dbPassword"]);
    assert.deepEqual(r.origins.note, { from: "absent" });
    assert.deepEqual(r.origins.dbPassword, { from: "prompt" });
    assert.equal(r.recorded.dbPassword, "prompt");
  });

  it("names the variable that would fill a missing input, and the others missing", async () => {
    assert.equal(
      await message(shop, { cwd: workdir(), env: {} }),
      'input dbPassword of stack "shop" is required: pass --set dbPassword=env:VAR (or file:PATH, command:CMD), put it in a values file (-f), set SHOP_DB_PASSWORD, or use -i',
    );
    const two = {
      name: "two",
      inputs: {
        a: { type: "number" },
        b: { type: "list" },
        c: { type: "string", required: false },
      },
    } as const;
    assert.equal(
      await message(two, { env: {} }),
      'input a of stack "two" is required: pass --set a=..., put it in a values file (-f), or use -i (also missing: b)',
    );
  });

  it("reads declared variables by type, and names the variable on a bad one", async () => {
    const cwd = workdir();
    assert.equal(
      await message(shop, shopSources(cwd, { env: { SHOP_PORT: "eighty" } })),
      "SHOP_PORT=eighty: port: expected a number",
    );
    const listed = {
      name: "l",
      inputs: { hosts: { type: "list", env: "HOSTS" }, on: { type: "boolean", env: "ON" } },
    } as const;
    const r = await resolveInputs(listed, { env: { HOSTS: "a, b ,c", ON: "true" } });
    assert.deepEqual(r.values, { hosts: ["a", "b", "c"], on: true });
  });

  it("takes an empty variable as unset", async () => {
    const cwd = workdir();
    const r = await resolveInputs(
      shop,
      shopSources(cwd, { env: { SHOP_PORT: "", SHOP_DB_PASSWORD: password } }),
    );
    assert.equal(r.values.port, 8080);
    assert.deepEqual(r.origins.port, { from: "default" });
  });

  it("stops at once when the signal has fired", async () => {
    const e = await rejection(resolveInputs(shop, { signal: AbortSignal.abort(), env: {} }));
    assert.equal(e.code, "E_ABORTED");
  });
});

describe("resolveInputs: values files", () => {
  const stack = shop;

  it("names file:line:col, the key and what was given", async () => {
    const cwd = workdir({ "values.yaml": "# ports\nsize: m\n\nport:   eighty\n" });
    assert.equal(
      await message(stack, shopSources(cwd, { valuesFiles: ["values.yaml"] })),
      'values.yaml:4:9: port: expected a number, got "eighty"',
    );
  });

  it("shows the file as given when outside the working directory", async () => {
    const dir = workdir({ "v.yaml": "size: xl\n" });
    const cwd = workdir();
    assert.equal(
      await message(stack, shopSources(cwd, { valuesFiles: [join(dir, "v.yaml")] })),
      `${join(dir, "v.yaml")}:1:7: size: expected one of s, m, l, got "xl"`,
    );
  });

  it("refuses each malformed file in one line", async () => {
    const cases: [string, string][] = [
      ["port: [1,\n", "values.yaml:2:1: not YAML: "],
      ["- 1\n- 2\n", "values.yaml: expected a mapping of input names to values, got a list"],
      ["just text\n", "values.yaml: expected a mapping of input names to values, got a string"],
      [
        "size: m\nprot: 80\n",
        'values.yaml:2:1: prot: stack "shop" has no input named prot (inputs: port, size, data, tags, dbPassword, note)',
      ],
      ["port: 1\nsize: m\nport: 2\n", "values.yaml:3:1: port is given twice (first at line 1)"],
      [
        "a: 1\n---\nb: 2\n",
        "values.yaml:2:1: not YAML: more than one document (a values file is one mapping)",
      ],
      ["port: .inf\n", "values.yaml:1:7: port: expected a finite number, got .inf"],
      [
        "port: 99999999999999999999999\n",
        "values.yaml:1:7: port: expected an integer of at most 9007199254740991 in size, got 99999999999999999999999",
      ],
      ["port: true\n", "values.yaml:1:7: port: expected a number, got true"],
      ["port:\n", "values.yaml:1:6: port: expected a number, got nothing"],
      ["size: [s]\n", "values.yaml:1:7: size: expected one of s, m, l, got a list"],
      ["tags: web\n", 'values.yaml:1:7: tags: expected a list of strings, got "web"'],
      [
        "tags:\n  - a\n  - {b: 1}\n",
        "values.yaml:3:5: tags: item 2: expected a string, got a mapping",
      ],
      ["data: 3\n", "values.yaml:1:7: data: expected a path, got 3"],
      ["[a, b]: 1\n", 'values.yaml:1:1: a key must be a name, got "[a, b]"'],
    ];
    for (const [text, expected] of cases) {
      const cwd = workdir({ "values.yaml": text });
      const got = await message(stack, shopSources(cwd, { valuesFiles: ["values.yaml"] }));
      if (expected.endsWith("not YAML: ")) assert.ok(got.startsWith(expected), got);
      else assert.equal(got, expected, text);
    }
  });

  it("reads an empty file or one of comments as no values", async () => {
    const cwd = workdir({ "empty.yaml": "", "comments.yaml": "# nothing yet\n" });
    const r = await resolveInputs(
      stack,
      shopSources(cwd, { valuesFiles: ["empty.yaml", "comments.yaml"] }),
    );
    assert.equal(r.values.port, 8080);
  });

  it("says so when the file cannot be read", async () => {
    const cwd = workdir();
    assert.equal(
      await message(stack, shopSources(cwd, { valuesFiles: ["nope.yaml"] })),
      "nope.yaml: cannot read values file: no such file",
    );
  });

  it("converts YAML values by declared type, keeping plain scalars as written for text", async () => {
    const cwd = workdir({
      "v.yaml": 'port: "81"\nversion: 1.10\nflag: yes\nhosts: [a, 2, true]\nok: false\n',
    });
    const s = {
      name: "s",
      inputs: {
        port: { type: "number" },
        version: { type: "string" },
        flag: { type: "string" },
        hosts: { type: "list" },
        ok: { type: "boolean" },
      },
    } as const;
    const r = await resolveInputs(s, { cwd, env: {}, valuesFiles: ["v.yaml"] });
    assert.deepEqual(r.values, {
      port: 81,
      version: "1.10",
      flag: "yes",
      hosts: ["a", "2", "true"],
      ok: false,
    });
  });

  it("reads an empty --set list as [] and a YAML list as it is", async () => {
    const cwd = workdir({ "v.yaml": "tags: []\n" });
    assert.deepEqual(
      (await resolveInputs(stack, shopSources(cwd, { sets: ["tags="] }))).values.tags,
      [],
    );
    assert.deepEqual(
      (await resolveInputs(stack, shopSources(cwd, { valuesFiles: ["v.yaml"] }))).values.tags,
      [],
    );
  });
});

describe("resolveInputs: path inputs", () => {
  const stack = {
    name: "p",
    inputs: {
      src: { type: "path" },
      out: { type: "path", mustExist: false, required: false },
    },
  } as const;

  it("resolves against the values file's directory, or the working directory", async () => {
    const cwd = workdir({ "conf/v.yaml": "src: ./web\n", "conf/web/x": "", "web/x": "" });
    const fromFile = await resolveInputs(stack, { cwd, env: {}, valuesFiles: ["conf/v.yaml"] });
    assert.equal(fromFile.values.src, join(cwd, "conf/web"));
    assert.equal(fromFile.recorded.src, join(cwd, "conf/web"));
    const fromSet = await resolveInputs(stack, { cwd, env: {}, sets: ["src=web", "out=new/dir"] });
    assert.equal(fromSet.values.src, join(cwd, "web"));
    assert.equal(fromSet.values.out, join(cwd, "new/dir"));
  });

  it("expands ~/ for a path input", async () => {
    const home = workdir({ "proj/x": "" });
    const r = await resolveInputs(stack, {
      cwd: workdir(),
      env: { HOME: home },
      sets: ["src=~/proj"],
    });
    assert.equal(r.values.src, join(home, "proj"));
  });

  it("refuses a path that does not exist, wherever it came from", async () => {
    const cwd = workdir({ "v.yaml": "src: nope\n" });
    assert.equal(
      await message(stack, { cwd, env: {}, sets: ["src=./nope"] }),
      `--set src=./nope: ${join(cwd, "nope")} does not exist`,
    );
    assert.equal(
      await message(stack, { cwd, env: {}, valuesFiles: ["v.yaml"] }),
      `v.yaml:1:6: src: ${join(cwd, "nope")} does not exist`,
    );
    const withDefault = {
      name: "d",
      inputs: { src: { type: "path", default: "./gone" } },
    } as const;
    assert.equal(
      await message(withDefault, { cwd, env: {} }),
      `input src of stack "d" (default "./gone"): ${join(cwd, "gone")} does not exist`,
    );
  });
});

describe("resolveInputs: secrets", () => {
  const stack = {
    name: "shop",
    inputs: { dbPassword: { type: "secret", env: "SHOP_DB_PASSWORD" } },
  } as const;

  async function secretOf(sources: InputSources): Promise<{ value: string; recorded: unknown }> {
    const r = await resolveInputs(stack, { env: {}, ...sources });
    const secret = r.values.dbPassword;
    assert.ok(secret instanceof Secret, "a Secret");
    assert.equal(r.secrets.dbPassword, secret);
    assert.equal(secret.name, "input.dbPassword");
    assert.ok(!JSON.stringify(r.recorded).includes(password), "the value is not recorded");
    return {
      value: new TextDecoder().decode(await secret.value()),
      recorded: r.recorded.dbPassword,
    };
  }

  it("reads every source, and records where, never the value", async () => {
    const cwd = workdir({ "conf/pw": `${password}\n`, "conf/v.yaml": "dbPassword: file:pw\n" });
    assert.deepEqual(await secretOf({ env: { SHOP_DB_PASSWORD: password } }), {
      value: password,
      recorded: "env:SHOP_DB_PASSWORD",
    });
    assert.deepEqual(await secretOf({ env: { PW: password }, sets: ["dbPassword=env:PW"] }), {
      value: password,
      recorded: "env:PW",
    });
    // A file is read byte for byte; a command's trailing newline is dropped, as $(...) does.
    assert.deepEqual(await secretOf({ cwd, valuesFiles: ["conf/v.yaml"] }), {
      value: `${password}\n`,
      recorded: `file:${join(cwd, "conf/pw")}`,
    });
    assert.deepEqual(await secretOf({ cwd, sets: ["dbPassword=command:cat conf/pw"] }), {
      value: password,
      recorded: "command:cat conf/pw",
    });
    assert.deepEqual(await secretOf({ prompt: async () => password }), {
      value: password,
      recorded: "prompt",
    });
  });

  it("reads the YAML mapping forms, relative to the values file", async () => {
    const cwd = workdir({
      "conf/pw": password,
      "conf/env.yaml": "dbPassword: {env: PW}\n",
      "conf/file.yaml": "dbPassword:\n  file: ./pw\n",
      // Runs in conf/, where the file: reference beside it would look.
      "conf/cmd.yaml": "dbPassword: {command: cat pw}\n",
    });
    for (const file of ["conf/env.yaml", "conf/file.yaml", "conf/cmd.yaml"]) {
      const { value } = await secretOf({ cwd, env: { PW: password }, valuesFiles: [file] });
      assert.equal(value, password, file);
    }
  });

  it("refuses a literal, and never shows it", async () => {
    const cwd = workdir({
      "v.yaml": `dbPassword: ${password}\n`,
      "m.yaml": "dbPassword: {vault: x}\n",
    });
    const cases: [InputSources, string][] = [
      [
        { sets: [`dbPassword=${password}`] },
        "--set dbPassword: a secret is not given as a literal (it would stay in shell history); use env:VAR, file:PATH or command:CMD, or -i",
      ],
      [
        { valuesFiles: ["v.yaml"] },
        "v.yaml:1:13: dbPassword: a secret is not written in a values file; use env:VAR, file:PATH or command:CMD, a mapping such as {env: VAR}, or -i",
      ],
      [
        { valuesFiles: ["m.yaml"] },
        "m.yaml:1:13: dbPassword: expected a mapping with one key, env, file or command (or env:VAR, file:PATH or command:CMD)",
      ],
      [{ sets: ["dbPassword=env:"] }, "--set dbPassword=env:: env: needs a VAR after the colon"],
    ];
    for (const [sources, expected] of cases) {
      const got = await message(stack, { cwd, env: {}, ...sources });
      assert.equal(got, expected);
      assert.ok(!got.includes(password), "the value is not shown");
    }
  });

  it("fails at once on a missing variable, an unreadable file or a failing command", async () => {
    const cwd = workdir();
    const cases: [string, string][] = [
      ["dbPassword=env:NOPE", "--set dbPassword=env:NOPE: environment variable NOPE is not set"],
      [
        "dbPassword=file:pw",
        `--set dbPassword=file:pw: cannot read ${join(cwd, "pw")}: no such file`,
      ],
      [
        `dbPassword=command:echo ${password}; exit 3`,
        `--set dbPassword=command:echo ${password}; exit 3: the command exited with code 3`,
      ],
    ];
    for (const [flag, expected] of cases) {
      assert.equal(await message(stack, { cwd, env: {}, sets: [flag] }), expected);
    }
  });

  it("keeps a refused secret answer out of the retry reason", async () => {
    const s = { name: "s", inputs: { pw: { type: "secret" }, n: { type: "number" } } } as const;
    const questions: InputQuestion[] = [];
    const answers = ["", password, "x", "7"];
    const r = await resolveInputs(s, {
      env: {},
      prompt: async (q) => {
        questions.push(q);
        return answers.shift()!;
      },
    });
    assert.deepEqual(
      questions.map((q) => [q.name, q.secret, q.retry]),
      [
        ["pw", true, undefined],
        ["pw", true, "an answer is required"],
        ["n", false, undefined],
        ["n", false, "expected a number"],
      ],
    );
    assert.equal(r.values.n, 7);
    assert.equal(r.recorded.pw, "prompt");
  });
});

describe("resolveInputs: prompts", () => {
  const stack = {
    name: "p",
    inputs: {
      size: { type: "enum", values: ["s", "m"] },
      port: { type: "number", default: 80 },
      replicas: { type: "number" },
    },
  } as const;

  it("asks only for the required inputs still missing, in order", async () => {
    const asked: string[] = [];
    const answers: Record<string, string> = { size: "m", replicas: "3" };
    const prompt: Prompter = async (q) => {
      asked.push(q.name);
      return answers[q.name]!;
    };
    const r = await resolveInputs(stack, { env: {}, prompt });
    assert.deepEqual(asked, ["size", "replicas"]);
    assert.deepEqual(r.values, { size: "m", port: 80, replicas: 3 });
    assert.deepEqual(r.origins, {
      size: { from: "prompt" },
      port: { from: "default" },
      replicas: { from: "prompt" },
    });
    asked.length = 0;
    await resolveInputs(stack, { env: {}, prompt, sets: ["replicas=2"] });
    assert.deepEqual(asked, ["size"]);
  });

  it("checks what was given before asking anything", async () => {
    let asked = 0;
    const e = await message(stack, {
      env: {},
      sets: ["port=x"],
      prompt: async () => {
        asked++;
        return "s";
      },
    });
    assert.equal(e, "--set port=x: expected a number");
    assert.equal(asked, 0);
  });

  it(`re-asks with the reason, and stops after 3 refused answers`, async () => {
    const retries: (string | undefined)[] = [];
    const e = await message(stack, {
      env: {},
      prompt: async (q) => {
        retries.push(q.retry);
        return "xl";
      },
    });
    assert.equal(
      e,
      'input size of stack "p": no answer accepted in 3 tries (expected one of s, m)',
    );
    assert.deepEqual(retries, [undefined, "expected one of s, m", "expected one of s, m"]);
  });

  it("passes the prompter's own error on", async () => {
    const e = await rejection(
      resolveInputs(stack, {
        env: {},
        prompt: async () => {
          throw new HlnError("E_ABORTED", "cancelled");
        },
      }),
    );
    assert.equal(e.code, "E_ABORTED");
  });
});

describe("describeInputType", () => {
  it("names each type as people read it", () => {
    assert.equal(describeInputType({ type: "enum", values: ["s", "m", "l"] }), "enum(s|m|l)");
    assert.equal(describeInputType({ type: "string", choices: ["a", "b"] }), "enum(a|b)");
    for (const type of ["string", "number", "boolean", "path", "secret", "list"] as const) {
      assert.equal(describeInputType({ type }), type);
    }
  });
});
