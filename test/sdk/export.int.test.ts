import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";

describe("exports on the real engine", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  async function withDag<T>(fn: (dag: ReturnType<typeof createDag>) => Promise<T>): Promise<T> {
    const dag = createDag({ connection: engine.buildkit });
    try {
      return await fn(dag);
    } finally {
      await dag.close();
    }
  }

  it("writes a directory and a file to the host, symlinks as symlinks", async () => {
    const out = mkdtempSync(join(tmpdir(), "hln-export-"));
    const n = nonce();
    await withDag(async (dag) => {
      const built = dag
        .container()
        .from("busybox")
        .withExec([
          "sh",
          "-c",
          `mkdir -p /out/sub && echo ${n} > /out/sub/a.txt && chmod 640 /out/sub/a.txt && ln -s /etc/passwd /out/abs-link && ln -s ../../.. /out/sub/up`,
        ]);
      await built.directory("/out").export(join(out, "dir"));
      await built.file("/out/sub/a.txt").export(join(out, "a-copy.txt"));
    });
    assert.equal(readFileSync(join(out, "dir/sub/a.txt"), "utf8"), `${n}\n`);
    assert.equal(lstatSync(join(out, "dir/sub/a.txt")).mode & 0o777, 0o640);
    assert.ok(lstatSync(join(out, "dir/abs-link")).isSymbolicLink());
    assert.equal(readlinkSync(join(out, "dir/abs-link")), "/etc/passwd");
    assert.equal(readlinkSync(join(out, "dir/sub/up")), "../../..");
    assert.equal(readFileSync(join(out, "a-copy.txt"), "utf8"), `${n}\n`);
    assert.deepEqual(readdirSync(out).sort(), ["a-copy.txt", "dir"], "nothing else written");
  });

  it("leaves the previous contents in place when the export fails", async () => {
    const out = mkdtempSync(join(tmpdir(), "hln-export-"));
    mkdirSync(join(out, "dir"));
    writeFileSync(join(out, "dir/keep.txt"), "old");
    await withDag(async (dag) => {
      const broken = dag
        .container()
        .from("busybox")
        .withExec(["sh", "-c", `echo ${nonce()}; exit 5`]);
      await assert.rejects(broken.directory("/").export(join(out, "dir")), {
        code: "E_EXEC_FAILED",
      });
    });
    assert.deepEqual(readdirSync(join(out, "dir")), ["keep.txt"]);
    assert.equal(readFileSync(join(out, "dir/keep.txt"), "utf8"), "old");
  });

  it("writes image tarballs and stores images in the engine", async () => {
    const out = mkdtempSync(join(tmpdir(), "hln-export-"));
    const n = nonce();
    const name = `hln-test/as-image:${n}`;
    const id = await withDag(async (dag) => {
      const c = dag
        .container()
        .from("busybox")
        .withEnvVariable("HLN_TEST", n)
        .withWorkdir("/app")
        .withExec(["sh", "-c", `echo ${n} > /app/marker`]);
      await c.export(join(out, "image.tar"), { format: "docker", name });
      await c.export(join(out, "oci.tar"), { format: "oci" });
      return c.asImage(name);
    });
    for (const f of ["image.tar", "oci.tar"]) {
      const tar = readFileSync(join(out, f));
      assert.ok(tar.length > 1000, `${f} has content`);
      assert.ok(
        tar.includes("index.json") || tar.includes("manifest.json"),
        `${f} is an image layout`,
      );
    }
    assert.ok(readFileSync(join(out, "image.tar")).includes("manifest.json"));
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const inspect = await engine.docker.json<{ Config: { Env: string[]; WorkingDir: string } }>(
      "GET",
      `/images/${encodeURIComponent(`docker.io/${name}`)}/json`,
    );
    assert.ok(inspect.Config.Env.includes(`HLN_TEST=${n}`));
    assert.equal(inspect.Config.WorkingDir, "/app");
    assert.equal(existsSync(join(out, "image.tar.hln-tmp")), false);
  });
});
