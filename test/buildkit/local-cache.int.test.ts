/**
 * BuildKit's `local` cache type against the real engine, through the lower-level APIs: the
 * session serves the cache directory as a content store, the client files the cache
 * manifest in `index.json` after the export and resolves it back to a digest for the
 * import. The proof is a step that writes a random value: after the engine has forgotten
 * the step, a solve that imports the cache must hand back the first run's value.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createContentStoreService } from "../../src/buildkit/content-store-service.js";
import { createFileSendService } from "../../src/buildkit/file-send-service.js";
import {
  localCacheStoreId,
  prepareLocalCacheImport,
  REF_NAME_ANNOTATION,
  readOciIndex,
  recordLocalCacheExport,
} from "../../src/buildkit/oci-layout.js";
import { createOciLayoutStore } from "../../src/buildkit/oci-layout-store.js";
import { openSession } from "../../src/buildkit/session.js";
import { type ExporterSpec, solve } from "../../src/buildkit/solve.js";
import { diskUsage } from "../../src/buildkit/usage.js";
import type { Engine } from "../../src/engine/engine.js";
import { definition, exec, imageSource } from "../../src/llb/index.js";
import { hostPlatform } from "../../src/sdk/dag.js";
import { nonce, requireEngine, StatusLog } from "../helpers/engine.js";

const platform = hostPlatform();

describe("local cache through the session's content store", () => {
  let engine: Engine;
  let dir: string;
  before(async () => {
    engine = await requireEngine();
    dir = await mkdtemp(join(tmpdir(), "hln-local-cache-"));
  });
  after(async () => {
    engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One solve whose result goes to `out`, with `cacheDir` served as the local cache store. */
  async function solveInto(
    out: string,
    cacheDir: string,
    cache: { imports?: ExporterSpec[]; exports?: ExporterSpec[] },
    build: Parameters<typeof solve>[1]["definition"],
    status: StatusLog,
  ) {
    const session = await openSession(engine.buildkit, {
      services: [
        createFileSendService({ kind: "directory", path: out }),
        createContentStoreService({
          [localCacheStoreId(cacheDir)]: createOciLayoutStore(cacheDir),
        }),
      ],
    });
    try {
      return await solve(engine.buildkit, {
        definition: build,
        sessionId: session.id,
        exporters: [{ type: "local" }],
        cacheImports: cache.imports,
        cacheExports: cache.exports,
        onStatus: status.onStatus,
      });
    } finally {
      await session.close();
    }
  }

  it("exports a step's cache to a directory and answers the step from it once the engine has forgotten it", async () => {
    const n = nonce();
    const cacheDir = join(dir, "cache");
    // Only /out is exported: a scratch mount holding the step's random value.
    const step = exec({
      root: imageSource("busybox", { platform }),
      args: ["sh", "-c", `echo local-cache-${n} $(cat /proc/sys/kernel/random/uuid) > /out/r`],
      env: ["PATH=/bin"],
      cwd: "/",
      platform,
      mounts: [{ dest: "/out", kind: "bind", source: null }],
    });
    const build = definition(step.mounts.get("/out")!);

    const exportAttrs = { dest: cacheDir, mode: "max" };
    const first = new StatusLog();
    const res = await solveInto(
      join(dir, "first"),
      cacheDir,
      { exports: [{ type: "local", attrs: exportAttrs }] },
      build,
      first,
    );
    const value = readFileSync(join(dir, "first", "r"), "utf8");
    assert.match(value, new RegExp(`^local-cache-${n} [0-9a-f-]{36}\n$`));
    assert.ok(
      first.byName(new RegExp(n)).some((v) => v.ran),
      "the step ran the first time",
    );

    const filed = await recordLocalCacheExport(exportAttrs, res.exporterResponse);
    assert.ok(filed, `a cache manifest in ${JSON.stringify(res.exporterResponse)}`);
    const index = await readOciIndex(cacheDir);
    assert.equal(index?.manifests.at(-1)?.digest, filed.digest);
    assert.ok(existsSync(join(cacheDir, "oci-layout")));
    assert.ok(existsSync(join(cacheDir, "blobs", "sha256", filed.digest.slice(7))));

    // Forget this test's records only; nothing else in the engine is touched. By ID: v0.13
    // cannot filter a prune by description (cache/manager.go prune).
    const mine = (await diskUsage(engine.buildkit)).filter((r) => r.description.includes(n));
    assert.ok(mine.length > 0, "the step left records");
    const filter = mine.map((r) => `id==${r.id}`);
    for await (const _ of engine.buildkit.control.prune({ filter })) {
    }
    const left = (await diskUsage(engine.buildkit)).filter((r) => r.description.includes(n));
    assert.deepEqual(left, [], "the engine has forgotten the step");

    const importAttrs = await prepareLocalCacheImport({ src: cacheDir });
    assert.equal(importAttrs.digest, filed.digest);
    // Import and export through the same directory, as `--cache-from` and `--cache-to` on
    // one path do: one store serves both, and blobs already there are not written again.
    const reexportAttrs = { dest: cacheDir, tag: "v2" };
    const blobs = readdirSync(join(cacheDir, "blobs", "sha256")).sort();
    const second = new StatusLog();
    const res2 = await solveInto(
      join(dir, "second"),
      cacheDir,
      {
        imports: [{ type: "local", attrs: importAttrs }],
        exports: [{ type: "local", attrs: reexportAttrs }],
      },
      build,
      second,
    );
    // The step writes a random value: had it run again, the value would differ.
    assert.equal(readFileSync(join(dir, "second", "r"), "utf8"), value);
    const again = second.byName(new RegExp(n));
    assert.ok(again.length > 0 && again.every((v) => v.cached), JSON.stringify(again));

    const refiled = await recordLocalCacheExport(reexportAttrs, res2.exporterResponse);
    assert.ok(refiled);
    const tags = (await readOciIndex(cacheDir))?.manifests.map((m) => [
      m.digest,
      m.annotations?.[REF_NAME_ANNOTATION],
    ]);
    assert.deepEqual(tags, [
      [filed.digest, "latest"],
      [refiled.digest, "v2"],
    ]);
    const now = readdirSync(join(cacheDir, "blobs", "sha256"));
    assert.ok(
      blobs.every((b) => now.includes(b)),
      "the first export's blobs are all still there",
    );
    assert.ok(
      now.every((b) => !b.startsWith(".")) &&
        readdirSync(cacheDir).every((f) => !f.endsWith(".tmp")),
      "no temporary files",
    );
  });
});
