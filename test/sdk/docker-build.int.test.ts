import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { ExecError } from "../../src/errors.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine, StatusLog } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("Directory.dockerBuild on the real engine", () => {
  let engine: Engine;
  before(async () => {
    engine = await requireEngine();
  });
  after(() => engine?.close());

  it("builds a Dockerfile and joins its result into the graph", async () => {
    const n = nonce();
    const ctx = tempDir("hln-dockerfile-");
    writeFileSync(join(ctx, "greeting.txt"), `hello ${n}\n`);
    writeFileSync(
      join(ctx, "build.Dockerfile"),
      `FROM busybox AS base
ARG WHO=nobody
ENV GREETED=$WHO
WORKDIR /app
COPY greeting.txt .
RUN echo "built for $WHO" > built.txt

FROM base AS extra
RUN echo unused > /unused
`,
    );
    const log = new StatusLog();
    const dag = createDag({ connection: engine.buildkit, onStatus: log.onStatus });
    try {
      const app = await dag
        .host()
        .directory(ctx)
        .dockerBuild({
          dockerfile: "build.Dockerfile",
          target: "base",
          buildArgs: { WHO: `you-${n}` },
        });
      const out = await app
        .withExec(["sh", "-c", 'pwd; cat greeting.txt built.txt; echo "$GREETED"'])
        .stdout();
      assert.equal(out, `/app\nhello ${n}\nbuilt for you-${n}\nyou-${n}\n`);
      // The rest of the graph builds on the frontend's own vertices: they are not rebuilt.
      const dockerfileSteps = log.byName(/RUN echo "built for/);
      assert.equal(dockerfileSteps.length, 1);
      assert.equal(log.byName(/unused/).length, 0, "other targets are not built");

      // A file from the Dockerfile's result feeds another container.
      const copied = await dag
        .container()
        .from("busybox")
        .withFile("/g.txt", app.file("/app/greeting.txt"))
        .withExec(["cat", "/g.txt"])
        .stdout();
      assert.equal(copied, `hello ${n}\n`);
    } finally {
      await dag.close();
    }
  });

  it("reports a failing RUN with its exit code", async () => {
    const ctx = tempDir("hln-dockerfile-");
    writeFileSync(join(ctx, "Dockerfile"), `FROM busybox\nRUN echo fail-${nonce()} && exit 6\n`);
    const dag = createDag({ connection: engine.buildkit });
    try {
      const built = await dag.host().directory(ctx).dockerBuild();
      await assert.rejects(built.sync(), (err: unknown) => {
        assert.ok(!(err instanceof ExecError) || err.exitCode === 6);
        assert.match(String((err as Error).message), /exit code: 6|exited with code 6/);
        return true;
      });
    } finally {
      await dag.close();
    }
  });

  it("refuses a Dockerfile outside the directory instead of reading another path", async () => {
    const ctx = tempDir("hln-dockerfile-");
    const dag = createDag({ connection: engine.buildkit });
    try {
      for (const dockerfile of ["../Dockerfile", "sub/../../x/Dockerfile", ".."])
        await assert.rejects(dag.host().directory(ctx).dockerBuild({ dockerfile }), {
          code: "E_USAGE",
          message: /^dockerBuild: dockerfile ".*" is outside the directory/,
        });
    } finally {
      await dag.close();
    }
  });

  it("reads a Dockerfile the ignore file excludes, apart from the context and before it", async () => {
    const ctx = tempDir("hln-dockerfile-");
    try {
      const n = nonce();
      // docker-library/hello-world ignores its own Dockerfiles.
      writeFileSync(join(ctx, ".dockerignore"), "Dockerfile*\n");
      writeFileSync(join(ctx, "big.bin"), Buffer.alloc(1 << 20, 7));
      writeFileSync(
        join(ctx, "Dockerfile.build"),
        `FROM busybox\nCOPY . /c\nRUN ls /c && echo ${n}\n`,
      );
      writeFileSync(join(ctx, "Dockerfile.bad"), `FROM hln-test/no-such-image:${n}\nCOPY . /c\n`);

      const sent: { files: number; bytesSent: number }[] = [];
      const dag = createDag({
        connection: engine.buildkit,
        onTransfer: (_path, s) => sent.push(s),
      });
      try {
        const app = await dag.host().directory(ctx).dockerBuild({ dockerfile: "Dockerfile.build" });
        const listed = await app.withExec(["ls", "-a", "/c"]).stdout();
        assert.deepEqual(listed.split("\n").filter(Boolean), [
          ".",
          "..",
          ".dockerignore",
          "big.bin",
        ]);

        sent.length = 0;
        const bad = await dag.host().directory(ctx).dockerBuild({ dockerfile: "Dockerfile.bad" });
        await assert.rejects(bad.sync(), /no-such-image/);
        // Only the Dockerfile travelled: the frontend failed on FROM before asking for the context.
        assert.deepEqual(
          sent.map((s) => s.bytesSent),
          [Buffer.byteLength(`FROM hln-test/no-such-image:${n}\nCOPY . /c\n`)],
        );
      } finally {
        await dag.close();
      }
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });

  it("lets <Dockerfile>.dockerignore replace the directory's ignore file, as buildx does", async () => {
    const ctx = tempDir("hln-dockerfile-");
    try {
      writeFileSync(join(ctx, "a.txt"), "a");
      writeFileSync(join(ctx, "b.txt"), "b");
      writeFileSync(join(ctx, ".dockerignore"), "a.txt\n");
      writeFileSync(join(ctx, "Dockerfile.build.dockerignore"), "b.txt\n");
      writeFileSync(join(ctx, "Dockerfile.build"), `FROM busybox\nCOPY . /c\n`);
      const dag = createDag({ connection: engine.buildkit });
      try {
        const built = await dag
          .host()
          .directory(ctx)
          .dockerBuild({ dockerfile: "Dockerfile.build" });
        const listed = await built.withExec(["sh", "-c", `ls /c; : ${nonce()}`]).stdout();
        assert.deepEqual(listed.split("\n").filter(Boolean), [
          "Dockerfile.build",
          "Dockerfile.build.dockerignore",
          "a.txt",
        ]);
      } finally {
        await dag.close();
      }
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });
});
