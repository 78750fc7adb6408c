/**
 * A container starts with its image's environment, working directory and user, as a
 * Dockerfile's FROM does; its own settings override them, and an image built on it
 * keeps the rest of the base config (CMD, labels).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce, requireEngine } from "../helpers/engine.js";

interface InspectedImage {
  Config: { Env?: string[]; WorkingDir?: string; User?: string; Cmd?: string[] };
}

describe("base image config", () => {
  let engine: Engine;
  const n = nonce();
  const base = `hln-test/config-base:${n}`;
  const derived = `hln-test/config-derived:${n}`;

  const warnings: string[] = [];
  function dagOf() {
    return createDag({
      connection: engine.buildkit,
      docker: engine,
      onWarning: (m) => warnings.push(m),
    });
  }

  before(async () => {
    engine = await requireEngine();
    // A base image with settings, made here: no registry is reachable to pull one.
    const dag = dagOf();
    try {
      const image = await dag
        .directory()
        .withNewFile(
          "Dockerfile",
          `FROM busybox\nENV GREETING=hello-${n} KEEP=kept\nWORKDIR /srv/app\nUSER 1234:5678\nCMD ["echo", "from-base"]\n`,
        )
        .dockerBuild();
      await image.asImage(base);
    } finally {
      await dag.close();
    }
  });

  after(async () => {
    for (const name of [base, derived])
      await engine?.docker
        .json("DELETE", `/images/${encodeURIComponent(name)}?force=1`)
        .catch(() => {});
    engine?.close();
  });

  it("runs steps with the image's env, workdir and user", async () => {
    const dag = dagOf();
    try {
      const out = await dag
        .container()
        .from(base)
        .withExec(["sh", "-c", 'echo "$GREETING $KEEP $(pwd) $(id -u):$(id -g)"'])
        .stdout();
      assert.equal(out, `hello-${n} kept /srv/app 1234:5678\n`);
    } finally {
      await dag.close();
    }
  });

  it("lets the container's own settings win, and keeps the rest of the base config", async () => {
    const dag = dagOf();
    try {
      const own = dag
        .container()
        .from(base)
        .withEnvVariable("GREETING", "bye")
        .withWorkdir("/tmp")
        .withUser("0");
      const out = await own
        .withExec(["sh", "-c", 'echo "$GREETING $KEEP $(pwd) $(id -u)"'])
        .stdout();
      assert.equal(out, "bye kept /tmp 0\n");
      await own.asImage(derived);
    } finally {
      await dag.close();
    }
    const image = await engine.docker.json<InspectedImage>(
      "GET",
      `/images/${encodeURIComponent(derived)}/json`,
    );
    assert.deepEqual(image.Config.Cmd, ["echo", "from-base"]);
    assert.equal(image.Config.WorkingDir, "/tmp");
    assert.equal(image.Config.User, "0");
    assert.ok(image.Config.Env?.includes("GREETING=bye"), JSON.stringify(image.Config.Env));
    assert.ok(image.Config.Env?.includes("KEEP=kept"), JSON.stringify(image.Config.Env));
  });

  it("warns when relative paths resolved against / but the image works elsewhere", async () => {
    const dag = dagOf();
    warnings.length = 0;
    try {
      // A fresh image reference, so its config is resolved (and checked) in this dag.
      const out = await dag
        .container()
        .from(base)
        .withNewFile("note.txt", "x")
        .withExec(["sh", "-c", "pwd; ls /note.txt"])
        .stdout();
      assert.equal(out, "/srv/app\n/note.txt\n");
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(
        warnings[0]!,
        /works in \/srv\/app, but the relative path "note.txt" resolved against \/: set withWorkdir\("\/srv\/app"\) first/,
      );
    } finally {
      await dag.close();
    }
  });

  it("fails with the image named when it has no config to give", async () => {
    const dag = dagOf();
    try {
      await assert.rejects(
        dag.container().from(`hln-test/no-such-image:${n}`).withExec(["true"]).sync(),
        (err: Error) => {
          assert.match(err.message, new RegExp(`hln-test/no-such-image:${n}`));
          return true;
        },
      );
    } finally {
      await dag.close();
    }
  });
});
