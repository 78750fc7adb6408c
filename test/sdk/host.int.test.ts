import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

interface Transfer {
  path: string;
  files: number;
  bytesSent: number;
  requested: number;
}

describe("host directories on the real engine", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  async function run<T>(fn: (dag: ReturnType<typeof createDag>) => Promise<T>) {
    const transfers: Transfer[] = [];
    const dag = createDag({
      connection: engine.buildkit,
      onTransfer: (path, s) => transfers.push({ path, ...s }),
    });
    try {
      return { value: await fn(dag), transfers };
    } finally {
      await dag.close();
    }
  }

  const list = (
    dag: ReturnType<typeof createDag>,
    dir: ReturnType<ReturnType<typeof createDag>["directory"]>,
  ) =>
    dag
      .container()
      .from("busybox")
      .withDirectory("/ctx", dir)
      .withExec(["sh", "-c", `cd /ctx && find . -mindepth 1 | sort; echo ${nonce()} >/dev/null`])
      .stdout();

  it("sends a directory, honours .hlnignore, include and exclude", async () => {
    const root = tempDir("hln-host-");
    mkdirSync(join(root, "src/deep"), { recursive: true });
    mkdirSync(join(root, "node_modules/pkg"), { recursive: true });
    writeFileSync(join(root, "src/a.ts"), "a");
    writeFileSync(join(root, "src/deep/b.ts"), "b");
    writeFileSync(join(root, "src/deep/b.log"), "log");
    writeFileSync(join(root, "node_modules/pkg/index.js"), "x");
    writeFileSync(join(root, "README.md"), "r");
    writeFileSync(join(root, ".hlnignore"), "node_modules\n**/*.log\n");
    writeFileSync(join(root, ".dockerignore"), "README.md\n"); // .hlnignore wins
    const { value } = await run(async (dag) => [
      await list(dag, dag.host().directory(root)),
      await list(dag, dag.host().directory(root, { include: ["src"], exclude: ["src/deep"] })),
      await dag.host().file(join(root, "src/deep/b.ts")).contents(),
    ]);
    assert.equal(
      value[0],
      "./.dockerignore\n./.hlnignore\n./README.md\n./src\n./src/a.ts\n./src/deep\n./src/deep/b.ts\n",
    );
    assert.equal(value[1], "./src\n./src/a.ts\n");
    assert.equal(value[2], "b");
  });

  it("syncs 10,000 files, then sends only the bytes of the one that changed", async () => {
    const root = tempDir("hln-host-10k-");
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(root, `d${d}`));
      for (let f = 0; f < 100; f++)
        writeFileSync(join(root, `d${d}`, `f${f}.txt`), `file ${d}/${f} ${"x".repeat(100)}\n`);
    }
    const count = (dag: ReturnType<typeof createDag>) =>
      dag
        .container()
        .from("busybox")
        .withDirectory("/ctx", dag.host().directory(root))
        .withExec(["sh", "-c", "find /ctx -type f | wc -l; cat /ctx/d7/f7.txt"])
        .stdout();
    const first = await run(count);
    assert.equal(first.value, `10000\nfile 7/7 ${"x".repeat(100)}\n`);
    const sent = first.transfers.reduce((a, t) => a + t.bytesSent, 0);
    assert.ok(sent >= 10000 * 100, `first sync sent ${sent} bytes`);

    const changed = "changed!\n";
    writeFileSync(join(root, "d7/f7.txt"), changed);
    const second = await run(count);
    assert.equal(second.value, `10000\n${changed}`);
    const requested = second.transfers.reduce((a, t) => a + t.requested, 0);
    const bytes = second.transfers.reduce((a, t) => a + t.bytesSent, 0);
    assert.equal(requested, 1, "only the changed file is requested");
    assert.equal(bytes, Buffer.byteLength(changed), "only its bytes travel");
  });

  it("names the path when a host directory or file does not exist", async () => {
    await run(async (dag) => {
      assert.throws(() => dag.host().directory("/nonexistent/hln"), {
        message: "host directory /nonexistent/hln: no such directory",
      });
      assert.throws(() => dag.host().file("/nonexistent/f"), {
        message: "host file /nonexistent/f: no such file",
      });
    });
  });
});
