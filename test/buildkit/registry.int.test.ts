/**
 * The Auth session service against the real engine and a real registry: BuildKit pushes
 * and pulls with the credentials hln hands it from a Docker config, and a wrong password
 * fails with the registry's 401.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAuthService } from "../../src/buildkit/auth-service.js";
import type { CredentialsSource } from "../../src/buildkit/docker-config.js";
import { openSession } from "../../src/buildkit/session.js";
import { solve } from "../../src/buildkit/solve.js";
import type { Engine } from "../../src/engine/engine.js";
import { definition, exec, imageSource } from "../../src/llb/index.js";
import { hostPlatform } from "../../src/sdk/dag.js";
import { nonce, removeImagesMatching, requireEngine, StatusLog } from "../helpers/engine.js";
import { settlesWithin } from "../helpers/hang-guard.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const USER = "hln";
const PASSWORD = "correct-horse";
const platform = hostPlatform();

/** busybox with a file holding `tag`. */
function marker(tag: string) {
  return exec({
    root: imageSource("busybox", { platform }),
    args: ["sh", "-c", `echo ${tag} > /hln-marker`],
    env: ["PATH=/bin"],
    cwd: "/",
    platform,
  }).root;
}

/** Runs `fn`, which must fail; returns the error. */
async function failureOf(
  fn: () => Promise<unknown>,
): Promise<Error & { lookups?: Array<{ host: string }> }> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected a failure");
}

describe("registry auth through the session", () => {
  let engine: Engine;
  let registry: TestRegistry;
  let dir: string;
  /** The image the first test pushed, for the tests after it. */
  let pushedRef: string | undefined;

  /** A DOCKER_CONFIG directory whose config.json logs in to the test registry. */
  async function dockerConfig(name: string, password: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    const auth = Buffer.from(`${USER}:${password}`).toString("base64");
    await writeFile(
      join(d, "config.json"),
      JSON.stringify({ auths: { [registry.host]: { auth } } }),
    );
    return d;
  }

  /** Runs one solve in a session that serves credentials from `configDir`. */
  async function solveWithAuth(
    configDir: string,
    build: Parameters<typeof solve>[1]["definition"],
    exporters: Parameters<typeof solve>[1]["exporters"],
    status?: StatusLog,
  ) {
    const lookups: Array<{ host: string; source: CredentialsSource }> = [];
    const session = await openSession(engine.buildkit, {
      services: [
        createAuthService({ env: { DOCKER_CONFIG: configDir }, onLookup: (l) => lookups.push(l) }),
      ],
    });
    try {
      const res = await solve(engine.buildkit, {
        definition: build,
        sessionId: session.id,
        exporters,
        onStatus: status?.onStatus,
      });
      return { res, lookups };
    } catch (err) {
      throw Object.assign(err as Error, { lookups });
    } finally {
      await session.close();
    }
  }

  before(async () => {
    engine = await requireEngine();
    registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
    dir = await mkdtemp(join(tmpdir(), "hln-regtest-"));
  });
  after(async () => {
    // Pushing with the containerd store keeps a local copy of each image.
    if (engine && registry) await removeImagesMatching(engine, `${registry.host}/*/*`);
    engine?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const basic = () => `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

  it("pushes with the credentials from DOCKER_CONFIG, then pulls the image back", async () => {
    const tag = nonce();
    const ref = `${registry.host}/hln-test/auth:${tag}`;
    const good = await dockerConfig("good", PASSWORD);

    const built = marker(tag);
    const pushed = await solveWithAuth(good, definition(built), [
      { type: "image", attrs: { name: ref, push: "true", "registry.insecure": "true" } },
    ]);
    assert.match(
      pushed.res.exporterResponse["containerimage.digest"] ?? "",
      /^sha256:[0-9a-f]{64}$/,
    );
    assert.ok(
      pushed.lookups.some((l) => l.host === registry.host && l.source === "config"),
      JSON.stringify(pushed.lookups),
    );

    const manifest = await fetch(`http://${registry.host}/v2/hln-test/auth/manifests/${tag}`, {
      headers: {
        authorization: basic(),
        accept: [
          "application/vnd.oci.image.index.v1+json",
          "application/vnd.oci.image.manifest.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
          "application/vnd.docker.distribution.manifest.v2+json",
        ].join(", "),
      },
    });
    await manifest.arrayBuffer();
    assert.equal(manifest.status, 200);
    assert.equal(
      manifest.headers.get("docker-content-digest"),
      pushed.res.exporterResponse["containerimage.digest"],
    );
    pushedRef = ref;

    // Pull it back: "pull" makes BuildKit ask the registry instead of any local copy.
    const status = new StatusLog();
    const check = exec({
      root: imageSource(ref, { platform, resolveMode: "pull" }),
      args: ["sh", "-c", `cat /hln-marker; test "$(cat /hln-marker)" = ${tag}`],
      env: ["PATH=/bin"],
      cwd: "/",
      platform,
      ignoreCache: true,
    }).root;
    const pulled = await solveWithAuth(good, definition(check), [], status);
    assert.ok(status.logs.join("").includes(`${tag}\n`), status.logs.join(""));
    assert.ok(
      pulled.lookups.some((l) => l.host === registry.host),
      JSON.stringify(pulled.lookups),
    );
  });

  it("fails with the registry's 401 when the password is wrong, having asked for that host", async () => {
    const bad = await dockerConfig("bad", "wrong-password");
    const tag = nonce();
    const built = marker(tag);
    const failure = await failureOf(() =>
      solveWithAuth(bad, definition(built), [
        {
          type: "image",
          attrs: {
            name: `${registry.host}/hln-test/auth:${tag}`,
            push: "true",
            "registry.insecure": "true",
          },
        },
      ]),
    );
    assert.match(failure.message, /401|unauthorized/i);
    assert.deepEqual([...new Set(failure.lookups?.map((l) => l.host))], [registry.host]);
  });

  it("fails the push naming a credential helper that crashed, instead of waiting on it", async () => {
    const d = join(dir, "crashing-helper");
    await mkdir(d, { recursive: true });
    // A real helper on PATH that dies of a signal, as a crashing keychain helper does.
    await writeFile(join(d, "docker-credential-crash"), "#!/bin/sh\nkill -SEGV $$\n", {
      mode: 0o755,
    });
    await writeFile(
      join(d, "config.json"),
      JSON.stringify({ credHelpers: { [registry.host]: "crash" } }),
    );
    const tag = nonce();
    const session = await openSession(engine.buildkit, {
      services: [
        createAuthService({ env: { DOCKER_CONFIG: d, PATH: `${d}:${process.env.PATH}` } }),
      ],
    });
    try {
      const push = solve(engine.buildkit, {
        definition: definition(marker(tag)),
        sessionId: session.id,
        exporters: [
          {
            type: "image",
            attrs: {
              name: `${registry.host}/hln-test/auth:${tag}`,
              push: "true",
              "registry.insecure": "true",
            },
          },
        ],
      });
      await assert.rejects(
        settlesWithin("the push", push, 120_000),
        /credential helper docker-credential-crash was killed by SIGSEGV/,
      );
    } finally {
      await session.close();
    }
  });

  it("fails to pull with the wrong password: pulls use the session's credentials too", async () => {
    assert.ok(pushedRef, "needs the image the first test pushed");
    const bad = await dockerConfig("bad-pull", "wrong-password");
    const check = exec({
      root: imageSource(pushedRef, { platform, resolveMode: "pull" }),
      args: ["cat", "/hln-marker"],
      env: ["PATH=/bin"],
      cwd: "/",
      platform,
      ignoreCache: true,
    }).root;
    const failure = await failureOf(() => solveWithAuth(bad, definition(check), []));
    assert.match(failure.message, /401|unauthorized/i);
    assert.deepEqual([...new Set(failure.lookups?.map((l) => l.host))], [registry.host]);
  });
});
