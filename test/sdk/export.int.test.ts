import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { HlnError } from "../../src/errors.js";
import { createDag, type DagOptions } from "../../src/sdk/dag.js";
import { nonce, removeImages, requireEngine } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("exports on the real engine", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  async function withDag<T>(
    fn: (dag: ReturnType<typeof createDag>) => Promise<T>,
    options: Omit<DagOptions, "connection"> = {},
  ): Promise<T> {
    const dag = createDag({ connection: engine.buildkit, ...options });
    try {
      return await fn(dag);
    } finally {
      await dag.close();
    }
  }

  it("writes a directory and a file to the host, symlinks as symlinks", async () => {
    const out = tempDir("hln-export-");
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
    const out = tempDir("hln-export-");
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
    const out = tempDir("hln-export-");
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
    await removeImages(engine, [`docker.io/${name}`]);
  });

  // Temporary folders of the tests below, removed after each one.
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  function scratch(): string {
    const dir = tempDir("hln-export-");
    made.push(dir);
    return dir;
  }

  /** Every entry under `dir` as "path: contents", directories as "path/", links as "path -> to". */
  function listing(dir: string, rel = ""): string[] {
    const out: string[] = [];
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(join(dir, path));
      if (st.isSymbolicLink()) out.push(`${path} -> ${readlinkSync(join(dir, path))}`);
      else if (st.isDirectory()) out.push(`${path}/`, ...listing(dir, path));
      else out.push(`${path}: ${readFileSync(join(dir, path), "utf8")}`);
    }
    return out;
  }

  const usage = (pattern: RegExp) => (e: unknown) =>
    e instanceof HlnError &&
    e.code === "E_USAGE" &&
    pattern.test(e.message) &&
    !e.message.includes("\n");

  /** A place that cannot be written: a read-only mount as root (which ignores modes), else a 0555 directory. */
  function unwritable(parent: string): { dir: string; release(): void } {
    const dir = join(parent, "ro");
    mkdirSync(dir);
    if (process.getuid?.() === 0) {
      execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir]);
      return { dir, release: () => execFileSync("umount", [dir]) };
    }
    chmodSync(dir, 0o555);
    return { dir, release: () => chmodSync(dir, 0o755) };
  }

  it("a directory export writes into its destination and leaves other files; wipe replaces it", async () => {
    const out = scratch();
    const dest = join(out, "dist");
    mkdirSync(join(dest, "sub"), { recursive: true });
    writeFileSync(join(dest, "mine.txt"), "mine");
    writeFileSync(join(dest, "same.txt"), "old");
    writeFileSync(join(dest, "sub/mine.txt"), "mine too");
    writeFileSync(join(out, "target.txt"), "target");
    symlinkSync("../target.txt", join(dest, "link"));
    await withDag(async (dag) => {
      const result = dag
        .directory()
        .withNewFile("same.txt", "new")
        .withNewFile("sub/new.txt", "new")
        .withNewFile("link", "a file now");
      await result.export(dest);
      assert.deepEqual(listing(dest), [
        "link: a file now",
        "mine.txt: mine",
        "same.txt: new",
        "sub/",
        "sub/mine.txt: mine too",
        "sub/new.txt: new",
      ]);
      // The symlink was replaced, not followed.
      assert.equal(readFileSync(join(out, "target.txt"), "utf8"), "target");

      // A directory where the result has a file is refused, and nothing changes.
      await assert.rejects(
        dag.directory().withNewFile("new.txt", "x").withNewFile("sub", "a file").export(dest),
        usage(/"sub" where .*\/dist\/sub is a directory/),
      );
      assert.ok(!existsSync(join(dest, "new.txt")));

      chmodSync(dest, 0o750);
      await result.export(dest, { wipe: true });
      assert.deepEqual(listing(dest), [
        "link: a file now",
        "same.txt: new",
        "sub/",
        "sub/new.txt: new",
      ]);
      assert.equal(lstatSync(dest).mode & 0o777, 0o750);
    });
    assert.deepEqual(readdirSync(out).sort(), ["dist", "target.txt"], "nothing left beside it");
  });

  // The working directory is tested through the CLI, from a scratch directory: a broken guard
  // here would wipe the repository.
  it("wipe never removes the stack's directory, home, / or what holds them", async () => {
    const out = scratch();
    const stackDir = join(out, "project");
    const home = join(out, "home");
    for (const d of [stackDir, home]) {
      mkdirSync(d);
      writeFileSync(join(d, "keep.txt"), "keep");
    }
    symlinkSync("project", join(out, "project-link"));
    const cases: [string, RegExp][] = [
      [stackDir, /refusing to remove .*\/project: it is the stack's directory$/],
      [join(out, "project-link"), /refusing to remove .*\/project: it is the stack's directory$/],
      [out, /refusing to remove .*: it holds the stack's directory .*\/project$/],
      [home, /refusing to remove .*\/home: it is the home directory$/],
      ["/", /refusing to remove \/: it is the root directory$/],
    ];
    await withDag(
      async (dag) => {
        const result = dag.directory().withNewFile("out.txt", "x");
        for (const [dest, error] of cases) {
          await assert.rejects(result.export(dest, { wipe: true }), usage(error), dest);
        }
        // An empty result goes the same way.
        await assert.rejects(dag.directory().export(home, { wipe: true }), usage(/home directory/));
        // Without wipe, exporting into them is fine and keeps what is there.
        await result.export(stackDir);
      },
      { stackDirectory: stackDir, env: { HOME: home } },
    );
    assert.deepEqual(listing(stackDir), ["keep.txt: keep", "out.txt: x"]);
    assert.deepEqual(listing(home), ["keep.txt: keep"]);
  });

  it("an empty directory export creates the destination, merges nothing, and wipes with wipe", async () => {
    const out = scratch();
    mkdirSync(join(out, "full"));
    writeFileSync(join(out, "full/mine.txt"), "mine");
    writeFileSync(join(out, "a-file"), "file");
    await withDag(async (dag) => {
      const empty = dag.directory();
      await empty.export(join(out, "new/deeper"));
      await empty.export(join(out, "full"));
      assert.deepEqual(listing(join(out, "full")), ["mine.txt: mine"]);
      await dag.directory().withNewDirectory("e").directory("e").export(join(out, "full"));
      assert.deepEqual(listing(join(out, "full")), ["mine.txt: mine"]);
      await assert.rejects(
        empty.export(join(out, "a-file")),
        usage(/a-file: it exists and is not a directory/),
      );
      await empty.export(join(out, "full"), { wipe: true });
    });
    assert.deepEqual(listing(out), ["a-file: file", "full/", "new/", "new/deeper/"]);
  });

  it("file and image exports: parents made, a directory refused, symlinks followed, unwritable places named", async () => {
    const out = scratch();
    mkdirSync(join(out, "adir"));
    writeFileSync(join(out, "adir/inside.txt"), "inside");
    writeFileSync(join(out, "real.txt"), "old");
    symlinkSync("real.txt", join(out, "link.txt"));
    symlinkSync("adir", join(out, "link-dir"));
    const ro = unwritable(out);
    try {
      await withDag(async (dag) => {
        const file = dag.directory().withNewFile("f.txt", "new").file("f.txt");
        const image = dag.container().from("busybox").withNewFile("/m", "x");
        await file.export(join(out, "made/for/it.txt"));
        await file.export(join(out, "link.txt"));
        for (const exp of [(p: string) => file.export(p), (p: string) => image.export(p)]) {
          await assert.rejects(exp(join(out, "adir")), usage(/adir: it is a directory/));
          await assert.rejects(exp(join(out, "link-dir")), usage(/link-dir: it is a directory/));
          await assert.rejects(
            exp(`${out}/newdir/`),
            usage(/newdir\/: a path ending in "\/" names a directory/),
          );
          await assert.rejects(
            exp(join(ro.dir, "x")),
            usage(
              new RegExp(
                `export to ${ro.dir}/x: cannot write in ${ro.dir}: (read-only file system|permission denied)$`,
              ),
            ),
          );
          await assert.rejects(
            exp(join(out, "real.txt/x")),
            usage(/cannot create its parent directory/),
          );
        }
        await image.export(join(out, "images/x.tar"));
      });
      assert.equal(existsSync(join(out, "newdir")), false, "nothing made for a path ending in /");
    } finally {
      ro.release();
    }
    assert.equal(readFileSync(join(out, "made/for/it.txt"), "utf8"), "new");
    assert.equal(readlinkSync(join(out, "link.txt")), "real.txt", "the symlink stays");
    assert.equal(readFileSync(join(out, "real.txt"), "utf8"), "new");
    assert.deepEqual(listing(join(out, "adir")), ["inside.txt: inside"]);
    assert.ok(readFileSync(join(out, "images/x.tar")).length > 1000);
    assert.deepEqual(readdirSync(join(out, "images")), ["x.tar"], "no temporary file left");
    assert.deepEqual(readdirSync(join(out, "ro")), []);
    assert.deepEqual(
      readdirSync(out).filter((n) => n.includes(".hln-")),
      [],
      "no staging left",
    );
  });

  // hln issue 8, item 14: after an image had been stored, a run ended with a bare
  // "not found". What follows an export (another export of the same result, a step on it,
  // storing it again), one after the other and all at once, must find what it needs.
  it("what follows an image export finds the result: again, as a tarball, as a step, concurrently", async () => {
    const out = scratch();
    const n = nonce();
    const names = [`hln-test/after-export:${n}-a`, `hln-test/after-export:${n}-b`];
    try {
      await withDag(async (dag) => {
        const built = await dag
          .directory()
          .withNewFile(
            "Dockerfile",
            `FROM busybox\nRUN mkdir /data && echo ${n} > /data/marker\nWORKDIR /data\n`,
          )
          .dockerBuild();
        const id = await built.asImage(names[0]!);
        await built.export(join(out, "first.tar"));
        assert.equal(await built.withExec(["cat", "marker"]).stdout(), `${n}\n`);
        assert.equal(await built.asImage(names[0]!), id);
        const [again, , printed] = await Promise.all([
          built.asImage(names[1]!),
          built.export(join(out, "second.tar")),
          built.withExec(["cat", "/data/marker"]).stdout(),
          built.directory("/data").export(join(out, "data")),
        ]);
        assert.equal(again, id);
        assert.equal(printed, `${n}\n`);
      });
      for (const name of names) {
        const inspect = await engine.docker.json<{ Config: { WorkingDir: string } }>(
          "GET",
          `/images/${encodeURIComponent(`docker.io/${name}`)}/json`,
        );
        assert.equal(inspect.Config.WorkingDir, "/data");
      }
      assert.deepEqual(readdirSync(out).sort(), ["data", "first.tar", "second.tar"]);
      assert.equal(readFileSync(join(out, "data/marker"), "utf8"), `${n}\n`);
    } finally {
      for (const name of names) {
        await engine.docker
          .json("DELETE", `/images/${encodeURIComponent(`docker.io/${name}`)}?force=1`)
          .catch(() => undefined);
      }
    }
  });
});
