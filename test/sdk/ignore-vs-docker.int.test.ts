import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

// Docker's own CLI and buildx, from the engine script, are the oracle here.
const docker = "/opt/hln-engine/docker/usr/bin/docker";

const files = [
  "Makefile",
  "README.md",
  "docs/guide.md",
  "docs/keep.md",
  "src/main.ts",
  "src/main.test.ts",
  "src/deep/x.test.ts",
  "src/deep/y.ts",
  "build/out.js",
  "build/keep/important.js",
  "logs/a.log",
  "notes.log",
  "node_modules/pkg/index.js",
  "a,b.txt",
  "space name.txt",
  "tmp1/x",
  "tmp22/x",
  ".git/HEAD",
  ".env",
];

const dockerignore = `# comment
node_modules
**/*.log
!logs/a.log
build
!build/keep
docs/*.md
!docs/keep.md
**/*.test.ts
tmp?
.git
/.env
a,b.txt
`;

describe(".dockerignore: hln sends what docker buildx sends", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  it("matches on a context full of edge cases", async () => {
    const root = tempDir("hln-ignore-");
    for (const f of files) {
      mkdirSync(join(root, dirname(f)), { recursive: true });
      writeFileSync(join(root, f), f);
    }
    writeFileSync(join(root, ".dockerignore"), dockerignore);
    const n = nonce();
    const list = `find /ctx -mindepth 1 | sort | sed 's/^/LIST /'; echo ${n} >/dev/null`;

    const df = tempDir("hln-ignore-df-");
    writeFileSync(join(df, "Dockerfile"), `FROM busybox\nCOPY . /ctx\nRUN ${list}\n`);
    const bx = spawnSync(
      docker,
      // cacheonly: the docker driver would otherwise store an untagged image in the engine.
      [
        "buildx",
        "build",
        "--progress=plain",
        "--no-cache",
        "--output=type=cacheonly",
        "-f",
        join(df, "Dockerfile"),
        root,
      ],
      {
        encoding: "utf8",
        env: { ...process.env, DOCKER_HOST: "unix:///var/run/docker.sock" },
      },
    );
    assert.equal(bx.status, 0, bx.stderr);
    const fromDocker = [...bx.stderr.matchAll(/^#\d+ [\d.]+ LIST (.*)$/gm)].map((m) => m[1]);

    const dag = createDag({ connection: engine.buildkit });
    let fromHln: string[];
    try {
      const out = await dag
        .container()
        .from("busybox")
        .withDirectory("/ctx", dag.host().directory(root))
        .withExec(["sh", "-c", list])
        .stdout();
      fromHln = out
        .trimEnd()
        .split("\n")
        .map((l) => l.replace(/^LIST /, ""));
    } finally {
      await dag.close();
    }
    assert.ok(fromDocker.length > 5, `docker listed ${fromDocker.length} paths`);
    assert.deepEqual(fromHln, fromDocker);
  });
});
