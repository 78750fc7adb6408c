import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { ExecError } from "../../src/errors.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine, StatusLog } from "../helpers/engine.js";

describe("SDK on the real engine", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  async function withDag<T>(fn: (dag: ReturnType<typeof createDag>, log: StatusLog) => Promise<T>) {
    const log = new StatusLog();
    const dag = createDag({ connection: engine.buildkit, onStatus: log.onStatus });
    try {
      return { value: await fn(dag, log), log };
    } finally {
      await dag.close();
    }
  }

  it("returns stdout and stderr, and the same again from the cache on a rerun", async () => {
    const n = nonce();
    const graph = (dag: ReturnType<typeof createDag>) =>
      dag
        .container()
        .from("busybox")
        .withExec(["sh", "-c", `echo out-${n}; echo err-${n} >&2`]);
    const first = await withDag(async (dag) => {
      const c = graph(dag);
      return [await c.stdout(), await c.stderr()];
    });
    assert.deepEqual(first.value, [`out-${n}\n`, `err-${n}\n`]);
    assert.equal(first.log.byName(new RegExp(`echo out-${n}`))[0]?.ran, true);

    const second = await withDag(async (dag) => {
      const c = graph(dag);
      return [await c.stdout(), await c.stderr()];
    });
    assert.deepEqual(second.value, first.value);
    // Every step is answered from the cache. Vertices without inputs (image sources,
    // scratch file ops) are re-evaluated by BuildKit on each solve to compute cache keys,
    // as buildx shows `FROM` on every build; they are exempt.
    const steps = [...second.log.vertexes.values()].filter((v) => v.inputs.length > 0);
    assert.ok(steps.length >= 1);
    for (const v of steps) {
      assert.equal(v.cached, true, `${v.name} should be cached: ${JSON.stringify(v)}`);
      assert.equal(v.ran, false, `${v.name} should not run again`);
    }
    assert.equal(
      second.log.logs.join("").includes(`out-${n}`),
      false,
      "a cached step prints nothing",
    );
  });

  it("runs independent steps at the same time, by BuildKit's own timestamps", async () => {
    const n = nonce();
    const { log } = await withDag(async (dag) => {
      const base = dag.container().from("busybox");
      const branches = ["a", "b", "c", "d"].map((k) =>
        base.withExec(["sh", "-c", `sleep 2; echo ${k}-${n} > /r`]).file("/r"),
      );
      return Promise.all(branches.map((f) => f.contents()));
    });
    const steps = log.byName(new RegExp(`sleep 2; echo [abcd]-${n}`));
    assert.equal(steps.length, 4);
    const starts = steps.map((v) => v.started!.getTime());
    const ends = steps.map((v) => v.completed!.getTime());
    // All four were running at one instant: the last start precedes the first end.
    assert.ok(Math.max(...starts) < Math.min(...ends), `starts ${starts} ends ${ends}`);
  });

  it("reports a failing step's command, exit code and output", async () => {
    const n = nonce();
    await withDag(async (dag) => {
      const c = dag
        .container()
        .from("busybox")
        .withExec(["sh", "-c", `echo before-${n}; echo oops >&2; exit 3`]);
      await assert.rejects(c.sync(), (err: unknown) => {
        assert.ok(err instanceof ExecError, `got ${err}`);
        assert.equal(err.exitCode, 3);
        assert.deepEqual(err.args, ["sh", "-c", `echo before-${n}; echo oops >&2; exit 3`]);
        assert.match(err.output, new RegExp(`before-${n}`));
        assert.match(err.output, /oops/);
        assert.match(err.message, /exited with code 3/);
        return true;
      });
    });
  });

  it("passes files and directories between containers", async () => {
    const n = nonce();
    const { value } = await withDag(async (dag) => {
      const src = dag
        .directory()
        .withNewFile("greeting.txt", `hi-${n}`)
        .withNewFile("sub/x.txt", "x");
      const made = dag
        .container()
        .from("busybox")
        .withExec(["sh", "-c", `echo made-${n} > /made.txt`]);
      const c = dag
        .container()
        .from("busybox")
        .withDirectory("/src", src)
        .withFile("/dst/made.txt", made.file("/made.txt"))
        .withNewFile("/etc/note", "note", { permissions: 0o600 })
        .withWorkdir("/src")
        .withEnvVariable("WHO", `env-${n}`)
        .withExec([
          "sh",
          "-c",
          'cat greeting.txt sub/x.txt /dst/made.txt; echo "$WHO $(pwd)"; stat -c %a /etc/note',
        ]);
      return [await c.stdout(), await src.file("greeting.txt").contents()];
    });
    assert.equal(value[0], `hi-${n}x` + `made-${n}\nenv-${n} /src\n600\n`);
    assert.equal(value[1], `hi-${n}`);
  });

  it("keeps a cache volume across runs and out of the result", async () => {
    const n = nonce();
    const volume = `test-${n}`;
    await withDag(async (dag) =>
      dag
        .container()
        .from("busybox")
        .withMountedCache("/cache", dag.cacheVolume(volume))
        .withExec(["sh", "-c", `echo kept-${n} > /cache/v`])
        .sync(),
    );
    const { value } = await withDag(async (dag) => {
      const c = dag
        .container()
        .from("busybox")
        .withMountedCache("/cache", dag.cacheVolume(volume))
        .withExec(["sh", "-c", `cat /cache/v; echo second-${n}`]);
      const listing = c.withExec(["sh", "-c", "ls /cache | wc -l"], { capture: true });
      return [await c.stdout(), await listing.stdout()];
    });
    assert.equal(value[0], `kept-${n}\nsecond-${n}\n`);
    assert.equal(value[1]?.trim(), "1");
  });

  it("runs many steps at once on a caller's signal without Node's listener-leak warning", async () => {
    const n = nonce();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    const caller = new AbortController();
    const dag = createDag({ connection: engine.buildkit, signal: caller.signal });
    try {
      const outs = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          dag
            .container()
            .from("busybox")
            .withExec(["echo", `${n}-${i}`])
            .stdout(),
        ),
      );
      assert.deepEqual(
        outs,
        Array.from({ length: 16 }, (_, i) => `${n}-${i}\n`),
      );
      // Node reports the warning on the next tick.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => /MaxListeners/.test(w)),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await dag.close();
    }
  });

  it("runs as the user it is told to", async () => {
    const { value } = await withDag(async (dag) =>
      dag
        .container()
        .from("busybox")
        .withUser("1234:1234")
        .withExec(["sh", "-c", `id -u; echo ${nonce()}`])
        .stdout(),
    );
    assert.equal(value.split("\n")[0], "1234");
  });
});

describe("failures found through stdout()", () => {
  it("are ExecErrors too, with the exit code and output", async () => {
    const engine = await requireEngine();
    const dag = createDag({ connection: engine.buildkit });
    try {
      const n = nonce();
      const c = dag
        .container()
        .from("busybox")
        .withExec(["sh", "-c", `echo seen-${n}; exit 4`]);
      await assert.rejects(c.stdout(), (err: unknown) => {
        assert.ok(err instanceof ExecError, `got ${err}`);
        assert.equal(err.exitCode, 4);
        assert.deepEqual(err.args, ["sh", "-c", `echo seen-${n}; exit 4`]);
        assert.match(err.output, new RegExp(`seen-${n}`));
        return true;
      });
    } finally {
      await dag.close();
      engine.close();
    }
  });
});
