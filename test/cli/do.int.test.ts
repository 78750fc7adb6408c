import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

interface JsonEvent {
  v: number;
  type: string;
  digest?: string;
  name?: string;
  cached?: boolean;
  started?: string | null;
  completed?: string | null;
  error?: string | null;
  steps?: number;
}

function events(stderr: string): JsonEvent[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as JsonEvent);
}

describe("hln do", () => {
  it("runs the example stack, then answers a rerun entirely from the cache", async () => {
    const greeting = `hi-${nonce()}`;
    const args = [
      "--log-format",
      "json",
      "do",
      "up",
      "--plan",
      "stacks/hello",
      "--set",
      `greeting=${greeting}`,
      "--output",
      "json",
    ];
    // A cold start, so the four workers really run (they do not depend on the greeting).
    const pruned = await runCli(["engine", "prune", "--all"]);
    assert.equal(pruned.code, 0, pruned.stderr);
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    const out = JSON.parse(first.stdout);
    assert.equal(out.greeting, greeting);
    assert.equal(out.report[0], `${greeting} from 4 workers`);
    assert.deepEqual(
      out.report.slice(1).map((l: string) => l.split(" ")[0]),
      ["alpha", "beta", "gamma", "delta"],
    );

    // The four workers ran side by side (BuildKit's own timestamps).
    const last = new Map<string, JsonEvent>();
    for (const e of events(first.stderr)) if (e.type === "vertex") last.set(e.digest!, e);
    const workers = [...last.values()].filter((e) => /^\/etc\/hello\/work /.test(e.name ?? ""));
    assert.equal(workers.length, 4);
    const starts = workers.map((w) => Date.parse(w.started!));
    const ends = workers.map((w) => Date.parse(w.completed!));
    assert.ok(Math.max(...starts) < Math.min(...ends), "workers overlap in time");

    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), out);
    const again = new Map<string, JsonEvent>();
    for (const e of events(second.stderr)) if (e.type === "vertex") again.set(e.digest!, e);
    // Vertices without inputs (image sources, scratch file ops) are re-evaluated by
    // BuildKit on every solve to compute cache keys; every step with inputs is cached.
    const inputs = new Map<string, number>();
    for (const e of events(second.stderr))
      if (e.type === "vertex")
        inputs.set(e.digest!, (e as { inputs?: string[] }).inputs?.length ?? 0);
    const steps = [...again.values()].filter((e) => (inputs.get(e.digest!) ?? 0) > 0);
    assert.ok(steps.length >= 6, `saw ${steps.length} steps`);
    for (const s of steps) assert.equal(s.cached, true, `${s.name} cached on rerun`);
    const summary = events(second.stderr).find((e) => e.type === "summary");
    assert.ok(summary, "a summary event ends the stream");
  });

  it("prints plain progress and a one-line summary", async () => {
    const r = await runCli(["--log-format", "plain", "do", "up", "--plan", "stacks/hello"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^#\d+ /m);
    assert.match(r.stderr, /^hln: \d+ steps, \d+ cached/m);
    assert.match(r.stdout, /^greeting: hello$/m);
  });

  it("fails a broken step with its exit code and last output", async () => {
    const dir = tempDir("hln-stack-");
    const n = nonce();
    writeFileSync(
      join(dir, "stack.ts"),
      `import { defineStack } from "hln";
export default defineStack({
  name: "broken", version: "0.0.1",
  actions: { async up({ dag }) {
    await dag.container().from("busybox").withExec(["sh", "-c", "echo about-to-fail-${n}; exit 7"]).sync();
  } },
});
`,
    );
    const r = await runCli(["--log-format", "plain", "do", "up", "--plan", dir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /hln: error: process "sh -c echo about-to-fail-\w+; exit 7" exited with code 7/,
    );
    assert.match(r.stderr, new RegExp(`\\| about-to-fail-${n}`));
  });

  it("runs an action that declares an app, builds none of its images, and says hln up deploys them", async () => {
    const dir = tempDir("hln-stack-");
    const unbuilt = nonce();
    const stack = (dependsOn: string) => `import { defineStack } from "hln";
export default defineStack({
  name: "app", version: "0.0.1",
  actions: { up({ dag, app }) {
    const c = dag.container().from("busybox").withExec(["echo", "${unbuilt}"]);
    const db = app.service("db", c);
    app.job("migrate", c, { dependsOn: { ${dependsOn}: "started" } });
    return { db: db.hostname };
  } },
});
`;
    writeFileSync(join(dir, "stack.ts"), stack("db"));
    const r = await runCli(["--log-format", "plain", "do", "up", "--dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "db: db\n");
    assert.match(
      r.stderr,
      /^hln: warning: action "up" declared 2 services \(db, migrate\); hln up deploys them, hln do only builds$/m,
    );
    assert.doesNotMatch(r.stderr, new RegExp(unbuilt));

    writeFileSync(join(dir, "stack.ts"), stack("dbb"));
    const typo = await runCli(["--log-format", "plain", "do", "up", "--dir", dir]);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(
      typo.stderr,
      /^hln: error: \S*stack\.ts: action "up": job "migrate": dependsOn "dbb": no service or job of that name \(declared: db\)$/m,
    );
    assert.doesNotMatch(typo.stderr, /^#\d+ /m, "nothing was built");
  });

  it("rejects bad stacks and inputs with one line naming the file or flag", async () => {
    const dir = tempDir("hln-stack-");
    writeFileSync(join(dir, "syntax.ts"), "export default {{{");
    writeFileSync(join(dir, "notastack.ts"), "export default { name: 'x' };");
    const cases: [string[], RegExp][] = [
      [["do", "up", "--plan", join(dir, "missing.ts")], /missing\.ts: no such file or directory/],
      [
        ["do", "up", "--plan", join(dir, "syntax.ts")],
        /syntax\.ts:1:\d+: Expected identifier but found "{"/,
      ],
      [
        ["do", "up", "--plan", join(dir, "notastack.ts")],
        /notastack\.ts: the default export is not a stack/,
      ],
      [
        ["do", "up", "--plan", "stacks/hello", "--set", "nope=1"],
        /--set nope: stack "hello" has no input named nope \(inputs: greeting, rounds\)/,
      ],
      [
        ["do", "up", "--plan", "stacks/hello", "--set", "rounds=many"],
        /--set rounds=many: expected a number/,
      ],
      [
        ["do", "down", "--plan", "stacks/hello"],
        /stack "hello" has no action "down" \(actions: up\)/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
      assert.match(lines[0]!, pattern);
    }
    // Settings from the environment are checked before the engine too: none answers here.
    {
      const r = await runCli(["do", "up", "--plan", "stacks/hello"], {
        env: { HLN_SILENCE_TIMEOUT: "soon", DOCKER_HOST: "unix:///nonexistent.sock" },
      });
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /HLN_SILENCE_TIMEOUT=soon: expected a duration/);
    }
  });
});
