/**
 * Runs the SDK's requests on one engine: one session shared by every solve, one solve
 * per result asked for, all of them concurrent. Identical requests made at the same
 * time share one solve; BuildKit merges vertices shared between different solves.
 */
import { createHash } from "node:crypto";
import { debuglog } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { createAuthService } from "../buildkit/auth-service.js";
import { assertSupported, engineCapabilities } from "../buildkit/capabilities.js";
import type { BuildkitConnection } from "../buildkit/connection.js";
import { type ContentStore, createContentStoreService } from "../buildkit/content-store-service.js";
import {
  dockerConfigPath,
  loadDockerConfig,
  lookupCredentials,
  spawnCredentialHelper,
} from "../buildkit/docker-config.js";
import { createFileSendService, type ExportTarget } from "../buildkit/file-send-service.js";
import { createFileSyncService, type FileSyncStats } from "../buildkit/file-sync-service.js";
import { type GatewayBuild, withGateway } from "../buildkit/gateway.js";
import {
  localCacheStoreId,
  prepareLocalCacheImport,
  recordLocalCacheExport,
} from "../buildkit/oci-layout.js";
import { createOciLayoutStore } from "../buildkit/oci-layout-store.js";
import { createSecretsService } from "../buildkit/secrets-service.js";
import { openSession, type Session, type SessionService } from "../buildkit/session.js";
import { type ExporterSpec, solve } from "../buildkit/solve.js";
import type { SolveStatus } from "../buildkit/solve-status.js";
import type { DockerClient } from "../docker/client.js";
import { tagImage } from "../docker/images.js";
import { displayCommand, ExecError, HlnError } from "../errors.js";
import { type Definition, DefinitionSchema } from "../gen/buildkit/ops_pb.js";
import {
  type DeferredOutput,
  deferredOutput,
  definition,
  fileOp,
  formatPlatform,
  fromDefinition,
  isMarshaled,
  type Output,
  type Platform,
  parseImageRef,
  pendingDeferred,
  postOrder,
  type Vertex,
  vertexDigest,
} from "../llb/index.js";
import { clientId } from "./client-id.js";
import {
  exitCodeOf,
  oldEngineArgv,
  quoteArgv,
  quotedArgvOf,
  runFailureOf,
  runtimeStartFailure,
  shimStartFailure,
} from "./exec-failure.js";
import { ImageBase } from "./image-base.js";
import type { Ledger, LedgerKey } from "./ledger.js";
import type { LedgerEntry } from "./ledger-store.js";
import { OutputTail } from "./output-tail.js";
import type { Secret } from "./secret.js";

const debug = debuglog("hln:sdk");

/**
 * The Docker engine beside the BuildKit, for what its classic image store lacks and for
 * images the build hands over. An opened `Engine` is one.
 */
export interface DockerEngineAccess {
  docker: DockerClient;
  imageStore(signal?: AbortSignal): Promise<"containerd" | "classic">;
  /**
   * True when the BuildKit is this Docker engine's own, so the moby exporter stores
   * images in it. Otherwise images travel as tarballs into `POST /images/load`.
   */
  builtIn: boolean;
}

/** Redacts secret values from text hln prints. */
export interface Redactor {
  add(value: Uint8Array | string): void;
  scrub(text: string): string;
}

/** What the solver knows about an exec vertex, to explain its failure. */
export interface ExecInfo {
  /** The command as the stack wrote it. */
  args: readonly string[];
  /** The argv BuildKit runs (with the capture wrapper), as its error messages quote it. */
  wireArgs: readonly string[];
  /** The user set by withUser, to name that call when the engine cannot find the user. */
  user?: string;
}

/** Exporters that produce an image, and so can carry inline cache. */
const IMAGE_EXPORTERS = new Set(["image", "moby", "oci", "docker"]);

export interface SolverOptions {
  connection: BuildkitConnection;
  /** Platform of containers the graph creates. */
  platform?: Platform;
  docker?: DockerEngineAccess;
  /**
   * Build cache to import into every solve, and to export once at the end of the run
   * (`close()`), covering every result the run built.
   */
  cache?: { imports?: ExporterSpec[]; exports?: ExporterSpec[] };
  /** Told about things that did not stop the run, e.g. a cache import that was skipped. */
  onWarning?: (message: string) => void;
  /**
   * How long the engine may go without checking on the session (it does every 5 s)
   * before the run fails as disconnected. Default 30 s.
   */
  silenceTimeoutMs?: number;
  /** Environment for registry credentials (DOCKER_CONFIG) and secrets from env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Learns every secret value before a step can see it, and redacts them from the output
   * kept for error reports. The CLI shares it with the progress display.
   */
  redactor?: Redactor;
  /** Told what each host directory transfer sent (files, bytes), as it completes. */
  onTransfer?: (hostPath: string, stats: FileSyncStats) => void;
  /** The directory the stack lives in: exports never remove it (see `Directory.export`). */
  stackDirectory?: string;
  /** Receives every Status message of every solve. */
  onStatus?: (status: SolveStatus) => void;
  signal?: AbortSignal;
  /** Run every step again instead of reusing the build cache (`--no-cache`). */
  noCache?: boolean;
  /**
   * Answers requests whose inputs are unchanged since a run recorded them, without the
   * engine (see ledger.ts). Give one only for a Docker engine's built-in BuildKit, and not
   * with noCache or cache exports: createDag decides.
   */
  ledger?: Ledger;
}

const tailLines = 20;

/** A frontend request whose result is built in the first build that needs it. */
/** Where an export's files go, and the image config it carries. */
export interface ExportOptions {
  target?: ExportTarget;
  /** Read once the result's frontends have run (the image config can depend on them). */
  metadata?: () => Promise<Record<string, Uint8Array>>;
}

interface PendingFrontend {
  readonly name: string;
  readonly opts: Record<string, string>;
  readonly inputs: Record<string, Output>;
  /** Told the image config the frontend made. */
  readonly image: ImageBase;
  readonly result: DeferredOutput;
}

export class Solver {
  readonly #conn: BuildkitConnection;
  readonly #onStatus: ((s: SolveStatus) => void) | undefined;
  readonly #signal: AbortSignal;
  readonly #lost = new AbortController();
  #lostError: HlnError | undefined;
  readonly #silenceTimeoutMs: number;
  #session: Promise<Session> | undefined;
  readonly #inflight = new Map<string, Promise<unknown>>();
  /** Exec vertices by digest, registered as the graph is built. */
  readonly #execs = new Map<string, ExecInfo>();
  #unindexedExecs: [Output, ExecInfo][] = [];
  readonly #images = new Map<string, ImageBase>();
  readonly #imageOf = new WeakMap<Vertex, ImageBase>();
  readonly #resolving = new Map<ImageBase, Promise<{ config: Uint8Array }>>();
  readonly #frontends = new WeakMap<DeferredOutput, PendingFrontend>();
  readonly #ledger: Ledger | undefined;
  /** Exec vertex digests by their argv as BuildKit quotes it in errors (Go %q of the joined argv). */
  readonly #execsByArgv = new Map<string, string>();
  /** The last lines each vertex printed, for error reports. */
  readonly #tails = new OutputTail(tailLines);
  /** Names of the vertices that failed, as progress shows them, to name a failure's step. */
  readonly #failedNames = new Map<string, string>();
  readonly #env: NodeJS.ProcessEnv;
  readonly #platform: Platform;
  readonly #docker: DockerEngineAccess | undefined;
  readonly #cacheImports: ExporterSpec[];
  readonly #cacheExports: ExporterSpec[];
  #cacheChecked: Promise<void> | undefined;
  #preparedImports: Promise<ExporterSpec[]> | undefined;
  /** Content stores for `local` cache directories, by the store ID BuildKit asks for. */
  readonly #cacheStores: Record<string, ContentStore> = {};
  readonly #onWarning: ((message: string) => void) | undefined;
  /** Every result solved, for the cache export at the end. */
  readonly #solved: Output[] = [];
  readonly #redactor: Redactor | undefined;
  readonly #onTransfer: SolverOptions["onTransfer"];
  readonly #noCache: boolean;
  /** The directory the stack lives in, when the run has one. */
  readonly stackDirectory: string | undefined;
  /** Host directories by their local name in LLB. */
  readonly hostDirectories = new Map<string, string>();
  /** Secrets by name. */
  readonly secrets = new Map<string, Secret>();
  /** Why a secret's value could not be had, by name, to explain the step that needed it. */
  readonly #secretFailures = new Map<string, unknown>();

  constructor(options: SolverOptions) {
    this.#conn = options.connection;
    this.#onStatus = options.onStatus;
    // Solves stop on Ctrl-C, and when the engine falls silent (see #onSilent).
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#lost.signal])
      : this.#lost.signal;
    this.#silenceTimeoutMs = options.silenceTimeoutMs ?? 30_000;
    this.#env = options.env ?? process.env;
    this.#platform = options.platform ?? { os: "linux", architecture: "amd64" };
    this.#docker = options.docker;
    this.#cacheImports = options.cache?.imports ?? [];
    this.#cacheExports = options.cache?.exports ?? [];
    this.#onWarning = options.onWarning;
    for (const e of [...this.#cacheImports, ...this.#cacheExports]) {
      const dir = e.type === "local" ? (e.attrs?.src ?? e.attrs?.dest) : undefined;
      // The ID checks the path can travel in a header, before anything runs.
      if (dir) this.#cacheStores[localCacheStoreId(dir)] ??= createOciLayoutStore(dir);
    }
    this.#redactor = options.redactor;
    this.#onTransfer = options.onTransfer;
    this.stackDirectory = options.stackDirectory;
    this.#noCache = options.noCache === true;
    this.#ledger = options.ledger;
  }

  #definition(output: Output): Definition {
    return definition(output, { ignoreCache: this.#noCache });
  }

  get platform(): Platform {
    return this.#platform;
  }

  /** The Docker engine when it keeps images in the classic store, else undefined. */
  async classicDocker(): Promise<DockerClient | undefined> {
    if (!this.#docker?.builtIn) return undefined;
    return (await this.#docker.imageStore(this.#signal)) === "classic"
      ? this.#docker.docker
      : undefined;
  }

  /** The Docker engine images are deployed to, when it is not the one that builds. */
  get separateDocker(): DockerClient | undefined {
    return this.#docker && !this.#docker.builtIn ? this.#docker.docker : undefined;
  }

  /** The X-Registry-Auth value for pushing to `host`, from the Docker config. */
  async registryAuth(host: string): Promise<string> {
    const configPath = dockerConfigPath(this.#env);
    const config = await loadDockerConfig(configPath);
    const { credentials } = await lookupCredentials(config, host, {
      configPath,
      runHelper: spawnCredentialHelper({ env: this.#env }),
      signal: this.#signal,
    });
    const body = credentials.username
      ? { username: credentials.username, password: credentials.secret, serveraddress: host }
      : credentials.secret
        ? { identitytoken: credentials.secret, serveraddress: host }
        : {};
    return Buffer.from(JSON.stringify(body)).toString("base64url");
  }

  /**
   * @internal Marks `work` a stack started, for a run that waits on unawaited work before
   * it ends (TrackedSolver); SDK methods wrap their whole body, checks before the first
   * solve included, so nothing started is missed.
   */
  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  get env(): NodeJS.ProcessEnv {
    return this.#env;
  }

  /** Registers a secret, and tells the redactor its value as soon as it is known. */
  addSecret(secret: Secret): Secret {
    this.secrets.set(secret.id, secret);
    return secret;
  }

  registerExec(output: Output, info: ExecInfo): void {
    // Indexed by digest only when a failure needs explaining: an exec on an image whose
    // config is not in yet has no digest before its graph is sent.
    this.#unindexedExecs.push([output, info]);
  }

  /** Indexes the execs of graphs sent so far; only those can have failed. */
  #indexExecs(): void {
    const still: [Output, ExecInfo][] = [];
    for (const [output, info] of this.#unindexedExecs) {
      if (!isMarshaled(output.vertex)) {
        still.push([output, info]);
        continue;
      }
      const digest = vertexDigest(output.vertex);
      this.#execs.set(digest, info);
      this.#execsByArgv.set(quoteArgv(info.wireArgs), digest);
    }
    this.#unindexedExecs = still;
  }

  /** The image a container started from, one per reference and platform. */
  imageBase(ref: string, platform: Platform): ImageBase {
    const key = `${ref}|${formatPlatform(platform)}`;
    let base = this.#images.get(key);
    if (!base) {
      base = new ImageBase(ref, platform);
      this.#images.set(key, base);
    }
    return base;
  }

  /** Records that `vertex`'s op is written from `image`'s config, once it is known. */
  needsImage(vertex: Vertex, image: ImageBase): void {
    this.#imageOf.set(vertex, image);
  }

  /**
   * Asks the engine for the configs of images the graphs below `outputs` start from and
   * have not been told yet, all in one gateway build. Must run before those graphs are
   * marshaled.
   */
  async resolveImages(images: ReadonlyArray<ImageBase | Output>): Promise<void> {
    const wanted = new Set<ImageBase>();
    for (const x of images) {
      // A frontend's image is told its config by the frontend's own build.
      if (x instanceof ImageBase) {
        if (!x.resolved && !x.built) wanted.add(x);
        continue;
      }
      for (const v of postOrder(x.vertex, (u) => !isMarshaled(u))) {
        const image = this.#imageOf.get(v);
        if (image && !image.resolved && !image.built) wanted.add(image);
      }
    }
    if (wanted.size === 0) return;
    const keys = await this.#configsFromLedger(wanted);
    if (wanted.size === 0) return;
    await this.#inGateway(async (gw) => {
      await Promise.all(
        [...wanted].map(async (image) => {
          if (image.resolved) return;
          const pending =
            this.#resolving.get(image) ?? gw.resolveImageConfig(image.ref, image.platform);
          this.#resolving.set(image, pending);
          try {
            const res = await pending;
            if (image.resolved) return;
            const warning = image.resolve(res.config);
            if (warning) this.#onWarning?.(warning);
            const key = keys.get(image);
            if (key) await this.#ledger?.record(key, { answer: base64(res.config) });
          } catch (err) {
            this.#resolving.delete(image);
            throw new HlnError(
              "E_SOLVE_FAILED",
              `from(${JSON.stringify(image.ref)}): ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
          }
        }),
      );
    });
  }

  /**
   * Resolves from the ledger the images of `wanted` whose configs it holds for the image
   * the Docker engine has now, and removes them from `wanted`. Returns the keys of the
   * others, to record what the engine answers for them.
   */
  async #configsFromLedger(wanted: Set<ImageBase>): Promise<Map<ImageBase, LedgerKey>> {
    const keys = new Map<ImageBase, LedgerKey>();
    const ledger = this.#ledger;
    if (!ledger) return keys;
    await Promise.all(
      [...wanted].map(async (image) => {
        const key = await ledger.configKey(image.ref, image.platform);
        if (!key) return;
        const hit = await ledger.lookup(key);
        if (hit?.answer === undefined) {
          keys.set(image, key);
          return;
        }
        wanted.delete(image);
        if (image.resolved) return;
        ledger.hit(hit);
        const warning = image.resolve(Buffer.from(hit.answer, "base64"));
        if (warning) this.#onWarning?.(warning);
      }),
    );
    return keys;
  }

  /**
   * The ledger key of a request for `output`, or undefined (the reason in the debug log)
   * when the ledger must not answer it.
   */
  async #ledgerKey(kind: string, args: string[], def: Definition): Promise<LedgerKey | undefined> {
    if (!this.#ledger) return undefined;
    // A Dockerfile's result, once known, pins the images its FROM lines resolved to by
    // digest in `def`, so the key covers them like any other image.
    const key = await this.#ledger.requestKey(kind, args, def, this.hostDirectories);
    if ("reason" in key) {
      debug("ledger: %s %s runs on the engine: %s", kind, args.join(" "), key.reason);
      return undefined;
    }
    return key;
  }

  /** Builds `output` and keeps nothing but the cache. */
  async sync(output: Output): Promise<void> {
    this.#solved.push(output);
    if (pendingDeferred([output]).length > 0 && !(await this.#frontendsFromLedger([output]))) {
      await this.#preflight();
      await this.#inGateway(async (gw) => {
        await gw.solve(await this.#afterFrontends(gw, output), { evaluate: true });
      });
      return;
    }
    await this.resolveImages([output]);
    const def = this.#definition(output);
    const key = `sync:${vertexDigest(output.vertex)}:${output.index}`;
    return this.#once(key, async () => {
      const memo = await this.#ledgerKey("sync", [], def);
      const hit = memo && (await this.#ledger?.lookup(memo));
      if (hit) return this.#ledger?.hit(hit);
      await this.#preflight();
      const session = await this.#openSession();
      const failed = new Map<string, string>();
      await solve(this.#conn, {
        definition: def,
        sessionId: session.id,
        onStatus: this.#tapInto(failed),
        signal: this.#signal,
        cacheImports: await this.#imports(),
      }).catch(async (err) => {
        throw this.#explain(await this.#capabilityFailure(err, def), failed);
      });
      if (memo) await this.#ledger?.record(memo, {});
    });
  }

  /** Builds `output` and reads one file out of the result. */
  async readFile(output: Output, path: string): Promise<Uint8Array> {
    this.#solved.push(output);
    if (pendingDeferred([output]).length > 0 && !(await this.#frontendsFromLedger([output]))) {
      // Not shared with identical requests (there is no digest to know them by yet); the
      // engine merges their work anyway.
      await this.#preflight();
      return this.#inGateway(async (gw) =>
        gw.readFile(await gw.solve(await this.#afterFrontends(gw, output)), path),
      );
    }
    await this.resolveImages([output]);
    const def = this.#definition(output);
    const key = `read:${vertexDigest(output.vertex)}:${output.index}:${path}`;
    return this.#once(key, async () => {
      const memo = await this.#ledgerKey("read", [path], def);
      const hit = memo && (await this.#ledger?.lookup(memo));
      if (hit?.answer !== undefined) {
        this.#ledger?.hit(hit);
        return new Uint8Array(Buffer.from(hit.answer, "base64"));
      }
      await this.#preflight();
      const bytes = await this.#inGateway(
        async (gw) => gw.readFile(await gw.solve(def), path),
        def,
      );
      if (memo) await this.#ledger?.record(memo, { answer: base64(bytes) });
      return bytes;
    });
  }

  /**
   * A frontend's result (as in `Directory.dockerBuild`), built lazily: the frontend runs
   * inside the first build that needs its result, so an image exported straight from it
   * costs one solve, and its image config goes to `image`.
   */
  frontend(
    name: string,
    options: { opts?: Record<string, string>; inputs?: Record<string, Output>; image: ImageBase },
  ): Output {
    const result = deferredOutput(`the result of ${options.image.ref}`);
    this.#frontends.set(result, {
      name,
      opts: options.opts ?? {},
      inputs: options.inputs ?? {},
      image: options.image,
      result,
    });
    return result.output;
  }

  /**
   * Runs in `gw` the frontends `output` waits on, so what is built on them is solved in the
   * same build (each step reported once), and returns `output`'s Definition.
   */
  async #afterFrontends(gw: GatewayBuild, output: Output): Promise<Definition> {
    await this.#runFrontends(gw, [output]);
    await this.resolveImages([output]);
    return this.#definition(output);
  }

  /**
   * Runs in `gw` the frontends the graphs below `outputs` wait on, inner ones first, and
   * returns the IDs of their results in this build.
   */
  async #runFrontends(gw: GatewayBuild, outputs: Output[]): Promise<Map<Vertex, string>> {
    const ids = new Map<Vertex, string>();
    for (const deferred of pendingDeferred(outputs)) {
      const f = this.#frontends.get(deferred);
      if (!f) throw new HlnError("E_INTERNAL", "a deferred result has no frontend");
      const inputs = Object.values(f.inputs);
      for (const [v, id] of await this.#runFrontends(gw, inputs)) ids.set(v, id);
      await this.resolveImages(inputs);
      const defs = this.#inputDefinitions(f);
      // `no-cache` is the Dockerfile frontend's own way to run every instruction again.
      const opts = this.#noCache ? { ...f.opts, "no-cache": "" } : f.opts;
      // Taken before the engine reads the files, so a change meanwhile is not recorded as seen.
      const memo = await this.#frontendKey(f, defs);
      const res = await gw.solveFrontend(f.name, { opts, inputs: defs });
      if (!res.definition) {
        throw new HlnError(
          "E_ENGINE_CAPABILITY",
          `${f.image.ref}: the engine returned no definition for the result (BuildKit too old?)`,
        );
      }
      const config = res.metadata["containerimage.config"] ?? new TextEncoder().encode("{}");
      if (memo && this.#ledger) {
        const answer = await this.#ledger.frontendAnswer(res.definition, config);
        if (answer) await this.#ledger.record(memo, answer);
      }
      // Another build may have run it meanwhile; the result is the same.
      if (!deferred.resolved) this.#settleFrontend(deferred, f, config, res.definition);
      ids.set(deferred.output.vertex, res.id);
    }
    return ids;
  }

  /** The Definitions of a frontend's inputs, by input name; their images must be resolved. */
  #inputDefinitions(f: PendingFrontend): Record<string, Definition> {
    const defs: Record<string, Definition> = {};
    for (const [k, o] of Object.entries(f.inputs)) defs[k] = this.#definition(o);
    return defs;
  }

  /** Makes a frontend's result known: its image config, then the graph built on it. */
  #settleFrontend(
    deferred: DeferredOutput,
    f: PendingFrontend,
    config: Uint8Array,
    result: Definition,
  ): void {
    const warning = f.image.resolve(config);
    if (warning) this.#onWarning?.(warning);
    deferred.resolve(fromDefinition(result));
  }

  /** The ledger key of a frontend's build of `defs`, or undefined (the reason in the debug log). */
  async #frontendKey(
    f: PendingFrontend,
    defs: Record<string, Definition>,
  ): Promise<LedgerKey | undefined> {
    if (!this.#ledger) return undefined;
    const key = await this.#ledger.frontendKey(f.name, f.opts, defs, this.hostDirectories);
    if (!("reason" in key)) return key;
    debug("ledger: %s runs on the engine: %s", f.image.ref, key.reason);
    return undefined;
  }

  /**
   * Resolves from the ledger every frontend `outputs` wait on, inner ones first, when the
   * ledger knows each one's result for the same inputs and its images are unchanged; false
   * (some may be resolved) when one must run on the engine.
   */
  async #frontendsFromLedger(outputs: Output[]): Promise<boolean> {
    const ledger = this.#ledger;
    if (!ledger) return false;
    for (const deferred of pendingDeferred(outputs)) {
      const f = this.#frontends.get(deferred);
      if (!f) return false;
      const inputs = Object.values(f.inputs);
      if (!(await this.#frontendsFromLedger(inputs))) return false;
      await this.resolveImages(inputs);
      const memo = await this.#frontendKey(f, this.#inputDefinitions(f));
      const hit = memo && (await ledger.lookup(memo));
      const config = hit?.response?.config;
      if (!hit?.answer || config === undefined || !(await ledger.frontendImagesUnchanged(hit)))
        return false;
      // Another request of this run may have resolved it meanwhile; the result is the same.
      if (deferred.resolved) continue;
      ledger.hit(hit);
      this.#settleFrontend(
        deferred,
        f,
        Buffer.from(config, "base64"),
        fromBinary(DefinitionSchema, Buffer.from(hit.answer, "base64")),
      );
    }
    return true;
  }

  /** Checks, once, what can be known about the run before any work. */
  async #preflight(): Promise<void> {
    this.#cacheChecked ??= this.#assertCacheExportable();
    await this.#cacheChecked;
  }

  /**
   * The daemon rejects a graph that declares a cap it lacks, in terms of LLB caps and
   * before any work. The engine's caps then name the stack feature and the release
   * that brought it. They are asked for only here: the check costs a gateway round
   * trip that a run the engine accepts has no use for.
   */
  async #capabilityFailure(err: unknown, def: Definition): Promise<unknown> {
    const text = err instanceof Error ? err.message : String(err);
    if (
      !/unknown API capability|not supported by build server|disabled on the build server/.test(
        text,
      )
    )
      return err;
    const session = await this.#openSession();
    const caps = await engineCapabilities(this.#conn, {
      sessionId: session.id,
      signal: this.#signal,
    });
    assertSupported(def, caps, this.#conn.endpoint);
    return err;
  }

  /** Docker's classic store exports only inline cache; say so before the run, not after it. */
  async #assertCacheExportable(): Promise<void> {
    const other = this.#cacheExports.find((e) => e.type !== "inline");
    if (!other || !this.#docker?.builtIn) return;
    if ((await this.#docker.imageStore(this.#signal)) !== "classic") return;
    throw new HlnError(
      "E_ENGINE_CAPABILITY",
      `${this.#conn.endpoint}: cache export type=${other.type} needs Docker's containerd image store; this engine uses the classic store, which exports only type=inline`,
      {
        hint: 'enable "features": {"containerd-snapshotter": true} in daemon.json, or use --cache-to type=inline',
      },
    );
  }

  /** Runs `fn` in a gateway build on the shared session; failed steps become ExecErrors. */
  async #inGateway<T>(fn: (gw: GatewayBuild) => Promise<T>, def?: Definition): Promise<T> {
    const session = await this.#openSession();
    const failed = new Map<string, string>();
    return withGateway(
      this.#conn,
      {
        sessionId: session.id,
        onStatus: this.#tapInto(failed),
        signal: this.#signal,
        cacheImports: await this.#imports(),
      },
      fn,
    ).catch(async (err) => {
      throw this.#explain(def ? await this.#capabilityFailure(err, def) : err, failed);
    });
  }

  /**
   * Exports the build cache of everything this run built, in one solve: one per result
   * would leave a registry ref holding only the last. The solve depends on every result
   * through copies that match nothing, so no data moves and every step is cached.
   */
  async exportCache(): Promise<void> {
    const exports = this.#cacheExports.filter((e) => e.type !== "inline");
    if (exports.length === 0 || this.#solved.length === 0) return;
    // A result whose frontend never ran (its build failed first) has nothing cached.
    const built = this.#solved.filter((o) => pendingDeferred([o]).length === 0);
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
    const session = await this.#openSession();
    const res = await solve(this.#conn, {
      definition: this.#definition(join),
      sessionId: session.id,
      onStatus: this.#tap,
      signal: this.#signal,
      cacheImports: await this.#imports(),
      cacheExports: exports,
    }).catch((err) => {
      throw this.#explain(err, new Map());
    });
    for (const e of exports)
      if (e.type === "local")
        await recordLocalCacheExport(e.attrs ?? {}, res.exporterResponse, { signal: this.#signal });
  }

  /**
   * The cache imports as BuildKit takes them: a `local` import names its manifest by
   * digest, read from the directory's index.json. A directory without that cache yet
   * (the first CI run) is skipped with a warning, as buildx does.
   */
  #imports(): Promise<ExporterSpec[]> {
    this.#preparedImports ??= Promise.all(
      this.#cacheImports.map(async (e) => {
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

  async close(): Promise<void> {
    await this.#ledger?.close();
    const s = this.#session;
    this.#session = undefined;
    if (s) await (await s.catch(() => undefined))?.close();
  }

  #once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const existing = this.#inflight.get(key);
    if (existing) return existing as Promise<T>;
    const p = run();
    this.#inflight.set(key, p);
    // A failed request may be retried; a successful one is answered from memory.
    p.catch(() => this.#inflight.delete(key));
    return p;
  }

  /**
   * Builds `output` and hands it to an exporter, unless the ledger knows that the same
   * export of the same inputs already left what is still there: an image the name still
   * (or again) points to, a host directory unchanged since.
   */
  async exportTo(
    output: Output,
    exporter: ExporterSpec,
    options: ExportOptions = {},
  ): Promise<Record<string, string>> {
    const target = options.target;
    const named = exporter.type === "moby" && !target ? exporter.attrs?.name : undefined;
    const image = named && !named.includes(",") ? named : undefined;
    // Only a directory export names its destination; a file export goes through staging.
    const directory = exporter.type === "local" && target?.kind === "directory" && target.mode;
    const ledger = this.#ledger;
    if (
      !ledger ||
      (!image && !directory) ||
      (pendingDeferred([output]).length > 0 && !(await this.#frontendsFromLedger([output])))
    )
      return this.#exportOnEngine(output, exporter, options);
    await this.resolveImages([output]);
    const def = this.#definition(output);
    const metadata = await options.metadata?.();
    const digest = createHash("sha256");
    for (const [k, v] of Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
      digest.update(`${k}=`).update(v).update("\n");
    const args = image
      ? ["moby", image, digest.digest("hex")]
      : ["local", target?.path ?? "", String(directory)];
    const memo = await this.#ledgerKey("export", args, def);
    const hit = memo && (await ledger.lookup(memo));
    if (hit && (await this.#stillExported(hit))) {
      ledger.hit(hit);
      return hit.response ?? {};
    }
    const response = await this.#exportOnEngine(output, exporter, {
      ...options,
      ...(metadata ? { metadata: async () => metadata } : {}),
    });
    if (!memo) return response;
    if (image) {
      const id = await ledger.imageId(image, { fresh: true });
      if (id) await ledger.record(memo, { response, image: { name: image, id } });
    } else if (target) {
      const destination = await ledger.destination(target.path);
      if (destination) await ledger.record(memo, { response, destination });
    }
    return response;
  }

  /** Whether what a recorded export left is still in place (an image is tagged again). */
  async #stillExported(hit: LedgerEntry): Promise<boolean> {
    const ledger = this.#ledger;
    if (!ledger) return false;
    if (hit.destination) return ledger.destinationUnchanged(hit.destination);
    if (!hit.image || !this.#docker) return false;
    const { name, id } = hit.image;
    if ((await ledger.imageId(name, { fresh: true })) === id) return true;
    // The name moved (hln up untags its build name), but the image is still there: naming
    // it again is all the export would do.
    if ((await ledger.imageId(id, { fresh: true })) !== id) return false;
    const ref = parseImageRef(name);
    if (ref.digest) return false;
    await tagImage(
      this.#docker.docker,
      id,
      `${ref.domain}/${ref.path}`,
      ref.tag ?? "latest",
      this.#signal,
    );
    return true;
  }

  /**
   * Builds `output` and hands it to an exporter. Each export has a session of its own:
   * BuildKit tells exports apart only by their index in one solve, not across solves.
   */
  #exportOnEngine(
    output: Output,
    exporter: ExporterSpec,
    options: ExportOptions = {},
  ): Promise<Record<string, string>> {
    this.#solved.push(output);
    return (async () => {
      let def: Definition | undefined;
      await this.#preflight();
      const receiver = options.target
        ? createFileSendService(options.target, this.#signal)
        : undefined;
      const session = await openSession(
        this.#conn,
        this.#sessionOptions(receiver ? [receiver] : []),
      );
      const failed = new Map<string, string>();
      let response: Record<string, string> = {};
      try {
        // Through the gateway, so the result can carry metadata such as the image config.
        await withGateway(
          this.#conn,
          {
            sessionId: session.id,
            exporters: [exporter],
            onStatus: this.#tapInto(failed),
            signal: this.#signal,
            cacheImports: await this.#imports(),
            // Inline cache lives in the image's config, so it rides on image exports only.
            cacheExports: IMAGE_EXPORTERS.has(exporter.type)
              ? this.#cacheExports.filter((e) => e.type === "inline")
              : [],
            onResponse: (r) => {
              response = r;
            },
          },
          async (gw) => {
            // Frontends run in this build: an image straight from one is its result as is.
            const ids = await this.#runFrontends(gw, [output]);
            await this.resolveImages([output]);
            def = this.#definition(output);
            const id = ids.get(output.vertex) ?? (await gw.solve(def));
            gw.setResult(id, await options.metadata?.());
          },
        );
        // The engine can report the export done before the last file is in place here.
        await receiver?.settled();
        const own = receiver?.failure();
        if (own) throw own;
        return response;
      } catch (err) {
        // Why the transfer failed here (e.g. a destination that cannot be written) is known
        // only on this side: the engine reports a broken stream as "internal error".
        const own = receiver?.failure();
        if (own && own.code !== "E_ABORTED") throw own;
        throw this.#explain(def ? await this.#capabilityFailure(err, def) : err, failed);
      } finally {
        await session.close();
      }
    })();
  }

  #sessionOptions(extra: SessionService[] = []) {
    const services: SessionService[] = [
      createFileSyncService(this.hostDirectories, (name, stats) =>
        this.#onTransfer?.(this.hostDirectories.get(name) ?? name, stats),
      ),
      createSecretsService({
        get: async (id) => {
          const secret = this.secrets.get(id);
          if (!secret) return undefined;
          try {
            const value = await secret.value();
            this.#redactor?.add(value);
            return value;
          } catch (err) {
            // The engine fails the step with its own wrapping of this; the error
            // report gives the user ours.
            this.#secretFailures.set(id, err);
            throw err;
          }
        },
      }),
      createAuthService({ env: this.#env }),
      ...(Object.keys(this.#cacheStores).length > 0
        ? [createContentStoreService(this.#cacheStores)]
        : []),
      ...extra,
    ];
    return {
      signal: this.#signal,
      sharedKey: clientId(),
      services,
      silenceTimeoutMs: this.#silenceTimeoutMs,
      onSilent: () => {
        this.#lostError ??= new HlnError(
          "E_ENGINE_PROTOCOL",
          `lost the connection to ${this.#conn.endpoint}: no word from the engine for over ${this.#silenceTimeoutMs / 1000} s`,
          {
            hint: "the network or the engine went away; HLN_SILENCE_TIMEOUT sets how long to wait",
          },
        );
        this.#lost.abort(this.#lostError);
      },
    };
  }

  #openSession(): Promise<Session> {
    this.#session ??= openSession(this.#conn, this.#sessionOptions());
    return this.#session;
  }

  #tapInto(failed: Map<string, string>): (status: SolveStatus) => void {
    return (status) => {
      // The failure cancels the other steps in flight: they report "context canceled",
      // which is no cause, and must not hide one reported before.
      for (const v of status.vertexes)
        if (v.error && !(isCancellation(v.error) && failed.has(v.digest))) {
          failed.set(v.digest, v.error);
          this.#failedNames.set(v.digest, v.name);
        }
      this.#tap(status);
    };
  }

  readonly #tap = (status: SolveStatus): void => {
    for (const log of status.logs) this.#tails.add(log);
    this.#onStatus?.(status.vertexes.some((v) => v.error) ? this.#userCommands(status) : status);
  };

  /**
   * BuildKit names a failed exec by the argv it ran, hln's shim or wrapper included;
   * progress shows the command the stack wrote instead.
   */
  #userCommands(status: SolveStatus): SolveStatus {
    this.#indexExecs();
    return {
      ...status,
      vertexes: status.vertexes.map((v) => {
        const exec = v.error ? this.#execs.get(v.digest) : undefined;
        if (!exec || !v.error) return v;
        const shown = displayCommand(exec.args);
        // Functions, so `$&` and the like in the command stay as written.
        const error = v.error
          .replace(quoteArgv(exec.wireArgs), () => JSON.stringify(shown))
          .replace(oldEngineArgv(exec.wireArgs), () => `[${shown}]`);
        return { ...v, error };
      }),
    };
  }

  /** Turns a failed solve into an ExecError when an exec we know of failed. */
  #explain(err: unknown, failed: Map<string, string>): unknown {
    if (this.#lostError) return this.#lostError;
    if (!(err instanceof HlnError) || err.code !== "E_SOLVE_FAILED") return err;
    for (const [name, failure] of this.#secretFailures)
      if ([err.message, ...failed.values()].some((m) => m.includes(`secret "${name}"`)))
        return failure;
    this.#indexExecs();
    const candidates = [...failed];
    // A gateway solve can fail before the Status stream reports the vertex; the error
    // message then names it by its quoted argv.
    const quoted = quotedArgvOf(err.message);
    const byArgv = quoted ? this.#execsByArgv.get(quoted) : undefined;
    if (byArgv) candidates.push([byArgv, err.message]);
    for (const [digest, message] of candidates) {
      const exec = this.#execs.get(digest);
      if (!exec || isCancellation(message)) continue;
      const exitCode = exitCodeOf(message) ?? exitCodeOf(err.message);
      const tail = this.#tails.lines(digest);
      debug("exec %s failed: %s", digest, message);
      // A process that never started (an unknown user) has no output; the reason is all.
      const reason =
        exitCode === undefined
          ? (runFailureOf(message) ?? runFailureOf(err.message))
          : (shimStartFailure(exitCode, tail) ?? runtimeStartFailure(exitCode, tail));
      const userAtFault =
        reason !== undefined &&
        exec.user !== undefined &&
        /unable to find (user|group)/.test(reason);
      return new ExecError({
        args: exec.args,
        exitCode,
        reason,
        origin: userAtFault ? `withUser(${JSON.stringify(exec.user)})` : undefined,
        output: this.#redactor ? this.#redactor.scrub(tail.join("\n")) : tail.join("\n"),
        vertex: digest,
        cause: err,
      });
    }
    // Another step failed (a Dockerfile's COPY, a file op): the final line names it as
    // progress does, for the engine's reason alone ("/x": not found) does not say where.
    for (const [digest, error] of failed) {
      const name = this.#failedNames.get(digest);
      if (!name || isCancellation(error)) continue;
      if (/process "/.test(err.message) || err.message.includes(name)) continue;
      return new HlnError("E_SOLVE_FAILED", `${displayCommand([name])}: ${err.message}`, {
        cause: err,
        hint: err.hint,
      });
    }
    return err;
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** A step's error that only says the build stopped it, because another step failed. */
function isCancellation(error: string): boolean {
  return /\bcontext canceled\b/.test(error);
}
