/**
 * A run's build cache import and export (buildx's --cache-from/--cache-to): what every
 * solve imports, the inline cache image exports carry, and the one export at the end of
 * the run that covers every result it built. `local` caches are OCI layout directories
 * on this machine, which BuildKit reads and writes through the session's content store.
 */
import { type ContentStore, createContentStoreService } from "../buildkit/content-store-service.js";
import {
  localCacheStoreId,
  prepareLocalCacheImport,
  recordLocalCacheExport,
} from "../buildkit/oci-layout.js";
import { createOciLayoutStore } from "../buildkit/oci-layout-store.js";
import type { SessionService } from "../buildkit/session.js";
import type { ExporterSpec } from "../buildkit/solve.js";
import { HlnError } from "../errors.js";
import { fileOp, type Output, pendingDeferred, vertexDigest } from "../llb/index.js";

/** Exporters that produce an image, and so can carry inline cache. */
const IMAGE_EXPORTERS = new Set(["image", "moby", "oci", "docker"]);

export interface CachePlanOptions {
  imports?: ExporterSpec[] | undefined;
  exports?: ExporterSpec[] | undefined;
  /** Told about a cache import that was skipped. */
  onWarning?: ((message: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export class CachePlan {
  readonly #imports: ExporterSpec[];
  readonly #exports: ExporterSpec[];
  readonly #onWarning: ((message: string) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  #checked: Promise<void> | undefined;
  #preparedImports: Promise<ExporterSpec[]> | undefined;
  /** Content stores for `local` cache directories, by the store ID BuildKit asks for. */
  readonly #stores: Record<string, ContentStore> = {};

  constructor(options: CachePlanOptions = {}) {
    this.#imports = options.imports ?? [];
    this.#exports = options.exports ?? [];
    this.#onWarning = options.onWarning;
    this.#signal = options.signal;
    for (const e of [...this.#imports, ...this.#exports]) {
      const dir = e.type === "local" ? (e.attrs?.src ?? e.attrs?.dest) : undefined;
      // The ID checks the path can travel in a header, before anything runs.
      if (dir) this.#stores[localCacheStoreId(dir)] ??= createOciLayoutStore(dir);
    }
  }

  /** The session services the plan needs: a content store when a cache is a local directory. */
  services(): SessionService[] {
    return Object.keys(this.#stores).length > 0 ? [createContentStoreService(this.#stores)] : [];
  }

  /**
   * Checks, once, that the engine can export the cache asked for: Docker's classic store
   * exports only inline cache, so say so before the run, not after it. `classicStore`
   * tells whether the building engine keeps its images there.
   */
  check(endpoint: string, classicStore: () => Promise<boolean>): Promise<void> {
    this.#checked ??= (async () => {
      const other = this.#exports.find((e) => e.type !== "inline");
      if (!other || !(await classicStore())) return;
      throw new HlnError(
        "E_ENGINE_CAPABILITY",
        `${endpoint}: cache export type=${other.type} needs Docker's containerd image store; this engine uses the classic store, which exports only type=inline`,
        {
          hint: 'enable "features": {"containerd-snapshotter": true} in daemon.json',
          remedy: { lead: "or use", settings: ["cacheTo"], value: "type=inline" },
        },
      );
    })();
    return this.#checked;
  }

  /** The inline cache exports an export of type `exporter` carries: inline cache lives in an image's config. */
  inlineExports(exporter: string): ExporterSpec[] {
    return IMAGE_EXPORTERS.has(exporter) ? this.#exports.filter((e) => e.type === "inline") : [];
  }

  /**
   * The cache imports as BuildKit takes them: a `local` import names its manifest by
   * digest, read from the directory's index.json. A directory without that cache yet
   * (the first CI run) is skipped with a warning, as buildx does.
   */
  imports(): Promise<ExporterSpec[]> {
    this.#preparedImports ??= Promise.all(
      this.#imports.map(async (e) => {
        if (e.type !== "local") return e;
        try {
          return {
            ...e,
            attrs: await prepareLocalCacheImport(e.attrs ?? {}, { signal: this.#signal }),
          };
        } catch (err) {
          if (!(err instanceof HlnError) || err.code !== "E_USAGE") throw err;
          this.#onWarning?.(`cache import skipped: ${err.message}`);
          return undefined;
        }
      }),
    ).then((all) => all.filter((e): e is ExporterSpec => e !== undefined));
    return this.#preparedImports;
  }

  /**
   * Exports the build cache of every result in `solved`, in one solve (`run` makes it):
   * one per result would leave a registry ref holding only the last. The solve depends on
   * every result through copies that match nothing, so no data moves and every step is
   * cached.
   */
  async export(
    solved: readonly Output[],
    run: (join: Output, exports: ExporterSpec[]) => Promise<Record<string, string>>,
  ): Promise<void> {
    const exports = this.#exports.filter((e) => e.type !== "inline");
    if (exports.length === 0 || solved.length === 0) return;
    // A result whose frontend never ran (its build failed first) has nothing cached.
    const built = solved.filter((o) => pendingDeferred([o]).length === 0);
    const roots = [
      ...new Map(built.map((o) => [`${vertexDigest(o.vertex)}:${o.index}`, o])).values(),
    ];
    const join = fileOp({
      base: null,
      actions: roots.map((src) => ({
        kind: "copy" as const,
        src,
        srcPath: "/.hln-cache-export-matches-nothing*",
        destPath: "/",
        allowWildcard: true,
        allowEmptyWildcard: true,
      })),
      customName: "hln: export build cache",
    });
    const response = await run(join, exports);
    for (const e of exports)
      if (e.type === "local")
        await recordLocalCacheExport(e.attrs ?? {}, response, { signal: this.#signal });
  }
}
