/**
 * The image a Dockerfile builds, exported by hln: the frontend's own config (what
 * `docker buildx build` stores), with only what the stack changed on top, built in one solve.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine, StatusLog } from "../helpers/engine.js";

interface Inspected {
  Author?: string;
  Config: { Env?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string> };
}
interface HistoryEntry {
  CreatedBy: string;
  Comment: string;
}

describe("Directory.dockerBuild exported as an image", () => {
  let engine: Engine;
  const n = nonce();
  const plain = `hln-test/dockerfile-image:${n}`;
  const changed = `hln-test/dockerfile-image-changed:${n}`;
  const dockerfile = `FROM busybox
MAINTAINER Jane Doe <jane@example.com>
LABEL nonce=${n}
RUN echo ${n} > /built
`;

  before(async () => {
    engine = await requireEngine();
  });
  after(async () => {
    for (const name of [plain, changed])
      await engine?.docker
        .json("DELETE", `/images/${encodeURIComponent(name)}?force=1`)
        .catch(() => {});
    engine?.close();
  });

  const inspect = (name: string) =>
    engine.docker.json<Inspected>("GET", `/images/${encodeURIComponent(name)}/json`);
  const history = async (name: string) =>
    (await engine.docker.json<HistoryEntry[]>("GET", `/images/${encodeURIComponent(name)}/history`))
      .reverse()
      .map((h) => h.CreatedBy);

  /** Control.Solve calls made while `fn` runs: each is one build with its own progress. */
  async function countSolves(fn: () => Promise<void>): Promise<number> {
    const control = engine.buildkit.control as { solve: (...a: unknown[]) => unknown };
    const real = control.solve;
    let calls = 0;
    control.solve = (...a: unknown[]) => {
      calls++;
      return real.apply(control, a);
    };
    try {
      await fn();
    } finally {
      control.solve = real;
    }
    return calls;
  }

  it("keeps the frontend's config and history, and builds in one solve", async () => {
    const log = new StatusLog();
    const completions = new Map<string, number>();
    const dag = createDag({
      connection: engine.buildkit,
      docker: engine,
      onStatus: (s) => {
        log.onStatus(s);
        for (const v of s.vertexes)
          if (v.completed) completions.set(v.digest, (completions.get(v.digest) ?? 0) + 1);
      },
    });
    const solves = await countSolves(async () => {
      try {
        const ctx = dag.directory().withNewFile("Dockerfile", dockerfile);
        await (await ctx.dockerBuild()).asImage(plain);
      } finally {
        await dag.close();
      }
    });
    assert.equal(solves, 1, "one solve runs the Dockerfile and exports its image");
    const run = log.byName(new RegExp(`RUN echo ${n}`));
    assert.equal(run.length, 1);
    assert.equal(completions.get(run[0]!.digest), 1, "the step is reported once");

    const image = await inspect(plain);
    assert.equal(image.Author, "Jane Doe <jane@example.com>");
    assert.equal(
      image.Config.WorkingDir ?? "",
      "",
      "no WORKDIR in the Dockerfile, none in the image",
    );
    assert.equal(image.Config.Labels?.nonce, n);
    const base = await history("busybox:latest");
    const own = await history(plain);
    assert.deepEqual(own.slice(0, base.length), base, "the base image's history is kept");
    assert.equal(own.length, base.length + 3);
    assert.match(own[base.length]!, /MAINTAINER Jane Doe/);
    assert.match(own[base.length + 1]!, /LABEL nonce=/);
    assert.match(own[base.length + 2]!, new RegExp(`RUN .*echo ${n} > /built`));
  });

  it("runs steps after the Dockerfile in the same solve", async () => {
    const completions = new Map<string, number>();
    const names = new Map<string, string>();
    const dag = createDag({
      connection: engine.buildkit,
      onStatus: (s) => {
        for (const v of s.vertexes) {
          names.set(v.digest, v.name);
          if (v.completed) completions.set(v.digest, (completions.get(v.digest) ?? 0) + 1);
        }
      },
    });
    let out = "";
    const solves = await countSolves(async () => {
      try {
        const m = nonce();
        const built = await dag
          .directory()
          .withNewFile("Dockerfile", `FROM busybox\nRUN echo ${m} > /built\n`)
          .dockerBuild();
        out = await built.withExec(["cat", "/built"]).stdout();
        assert.equal(out, `${m}\n`);
      } finally {
        await dag.close();
      }
    });
    assert.equal(solves, 1);
    const run = [...names].filter(([, name]) => /RUN echo/.test(name));
    assert.equal(run.length, 1);
    assert.equal(completions.get(run[0]![0]), 1, "the Dockerfile's step is reported once");
  });

  it("adds only what the stack changed after the Dockerfile", async () => {
    const dag = createDag({ connection: engine.buildkit, docker: engine });
    try {
      const built = await dag.directory().withNewFile("Dockerfile", dockerfile).dockerBuild();
      await built
        .withEnvVariable("ADDED", "yes")
        .withWorkdir("/work")
        .withExec(["sh", "-c", `echo ${n} > /added`])
        .asImage(changed);
    } finally {
      await dag.close();
    }
    const image = await inspect(changed);
    assert.equal(image.Author, "Jane Doe <jane@example.com>");
    assert.equal(image.Config.WorkingDir, "/work");
    assert.ok(image.Config.Env?.includes("ADDED=yes"), JSON.stringify(image.Config.Env));
    assert.ok(
      image.Config.Env?.some((e) => e.startsWith("PATH=")),
      JSON.stringify(image.Config.Env),
    );
    const own = await history(changed);
    const fromDockerfile = await history(plain);
    assert.deepEqual(own.slice(0, fromDockerfile.length), fromDockerfile);
    // The exporter names the one new layer after the step that made it.
    assert.equal(own.length, fromDockerfile.length + 1);
    assert.match(own.at(-1)!, new RegExp(`echo ${n} > /added`));
  });

  it("warns when relative paths met a Dockerfile's WORKDIR", async () => {
    const warnings: string[] = [];
    const dag = createDag({ connection: engine.buildkit, onWarning: (m) => warnings.push(m) });
    try {
      const built = await dag
        .directory()
        .withNewFile("Dockerfile", "FROM busybox\nWORKDIR /srv\n")
        .dockerBuild();
      const out = await built
        .withNewFile("note.txt", "x")
        .withExec(["sh", "-c", `pwd; ls /note.txt; : ${nonce()}`])
        .stdout();
      assert.equal(out, "/srv\n/note.txt\n");
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(
        warnings[0]!,
        /works in \/srv, but the relative path "note.txt" resolved against \//,
      );
    } finally {
      await dag.close();
    }
  });
});
