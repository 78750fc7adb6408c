import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Engine, openEngine } from "../../src/engine/engine.js";
import { createDag } from "../../src/sdk/dag.js";
import { nonce } from "../helpers/engine.js";
import { startRegistry } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp-dir.js";

// Started by scripts/test-deps.sh (scripts/engine-classic-up.sh).
const classicHost = "unix:///var/run/hln-classic.sock";

describe("Docker's classic image store", () => {
  let engine: Engine;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  const user = { username: "hln", password: `pw-${nonce()}` };
  before(async () => {
    try {
      engine = await openEngine({ env: { DOCKER_HOST: classicHost } });
    } catch (err) {
      throw new Error(
        `needs the classic-store engine: run \`bash scripts/test-deps.sh\` as root (${(err as Error).message})`,
      );
    }
    registry = await startRegistry({ auth: user });
  });
  after(async () => {
    engine?.close();
    await registry?.stop();
  });

  it("is detected, and image tarballs and pushes go through the Docker API", async () => {
    assert.equal(await engine.imageStore(), "classic");
    const configDir = tempDir("hln-docker-config-");
    const auth = Buffer.from(`${user.username}:${user.password}`).toString("base64");
    writeFileSync(
      join(configDir, "config.json"),
      JSON.stringify({ auths: { [registry.host]: { auth } } }),
    );
    const out = tempDir("hln-classic-");
    const n = nonce();
    const dag = createDag({
      connection: engine.buildkit,
      docker: engine,
      env: { DOCKER_CONFIG: configDir },
    });
    let pushed: string;
    try {
      // This engine has no bridge network: the step runs without one.
      const c = dag
        .container()
        .from("busybox")
        .withEnvVariable("MARK", n)
        .withExec(["sh", "-c", `echo ${n} > /marker`], { network: "none" });
      await c.export(join(out, "image.tar"));
      pushed = await c.publish(`${registry.host}/hln-test/classic:${n}`);
    } finally {
      await dag.close();
    }
    const tar = readFileSync(join(out, "image.tar"));
    assert.ok(tar.includes("manifest.json"), "a docker-loadable tarball");
    assert.ok(tar.includes(`MARK=${n}`), "with the container's config");
    assert.match(
      pushed,
      new RegExp(`^${registry.host.replace(".", "\\.")}/hln-test/classic@sha256:[0-9a-f]{64}$`),
    );
    const res = await fetch(`http://${registry.host}/v2/hln-test/classic/manifests/${n}`, {
      headers: {
        authorization: `Basic ${auth}`,
        accept:
          "application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json",
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), pushed.split("@")[1]);
  });
});
