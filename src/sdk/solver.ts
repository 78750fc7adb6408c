/**
 * Runs the SDK's requests on one engine: one session shared by every solve, one solve
 * per result asked for, all of them concurrent. Identical requests made at the same
 * time share one solve; BuildKit merges vertices shared between different solves.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import { debuglog } from "node:util";
import { createAuthService } from "../buildkit/auth-service.js";
import { assertSupported, engineCapabilities } from "../buildkit/capabilities.js";
import type { BuildkitConnection } from "../buildkit/connection.js";
import { createFileSendService, type ExportTarget } from "../buildkit/file-send-service.js";
import { createFileSyncService, type FileSyncStats } from "../buildkit/file-sync-service.js";
import { type GatewayBuild, withGateway } from "../buildkit/gateway.js";
import { createSecretsService } from "../buildkit/secrets-service.js";
import { openSession, type Session, type SessionService } from "../buildkit/session.js";
import { type ExporterSpec, solve } from "../buildkit/solve.js";
import type { SolveStatus } from "../buildkit/solve-status.js";
import type { DockerClient } from "../docker/client.js";
import { tagImage } from "../docker/images.js";
import { HlnError } from "../errors.js";
import type { Definition } from "../gen/buildkit/ops_pb.js";
import {
  definition,
  type Output,
  type Platform,
  parseImageRef,
  pendingDeferred,
  type Vertex,
  vertexDigest,
} from "../llb/index.js";
import { CachePlan } from "./cache-plan.js";
import { clientId } from "./client-id.js";
import { Frontends } from "./frontends.js";
import type { ImageBase } from "./image-base.js";
import { ImageConfigs } from "./image-config.js";
import type { Ledger, LedgerKey } from "./ledger.js";
import type { LedgerEntry } from "./ledger-store.js";
import type { Secret } from "./secret.js";
import { type ExecInfo, StepExplanation } from "./step-explanation.js";

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

/** Where an export's files go, and the image config it carries. */
export interface ExportOptions {
  target?: ExportTarget;
  /** Read once the result's frontends have run (the image config can depend on them). */
  metadata?: () => Promise<Record<string, Uint8Array>>;
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
  readonly #steps: StepExplanation;
  readonly #images: ImageConfigs;
  readonly #frontends: Frontends;
  readonly #ledger: Ledger | undefined;
  readonly #env: NodeJS.ProcessEnv;
  readonly #platform: Platform;
  readonly #docker: DockerEngineAccess | undefined;
  readonly #cache: CachePlan;
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

  constructor(options: SolverOptions) {
    this.#conn = options.connection;
    this.#onStatus = options.onStatus;
    // Solves stop on Ctrl-C, and when the engine falls silent (see #onSilent).
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#lost.signal])
      : this.#lost.signal;
    // Every request in flight listens on it (a fan-out of 16 steps is 16 listeners): not a
    // leak, so Node must not print its warning into the user's output at the eleventh.
    setMaxListeners(0, this.#signal);
    this.#silenceTimeoutMs = options.silenceTimeoutMs ?? 30_000;
    this.#env = options.env ?? process.env;
    this.#platform = options.platform ?? { os: "linux", architecture: "amd64" };
    this.#docker = options.docker;
    this.#onWarning = options.onWarning;
    this.#cache = new CachePlan({
      imports: options.cache?.imports,
      exports: options.cache?.exports,
      onWarning: options.onWarning,
      signal: this.#signal,
    });
    this.#redactor = options.redactor;
    const redactor = this.#redactor;
    this.#steps = new StepExplanation({
      scrub: redactor ? (text) => redactor.scrub(text) : undefined,
    });
    this.#onTransfer = options.onTransfer;
    this.stackDirectory = options.stackDirectory;
    this.#noCache = options.noCache === true;
    this.#ledger = options.ledger;
    this.#images = new ImageConfigs({ ledger: this.#ledger, onWarning: this.#onWarning });
    this.#frontends = new Frontends({
      ledger: this.#ledger,
      noCache: this.#noCache,
      onWarning: this.#onWarning,
      hostDirectories: this.hostDirectories,
      definition: (o) => this.#definition(o),
      resolveImages: (outputs) => this.resolveImages(outputs),
    });
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
    this.#steps.registerExec(output, info);
  }

  /** The image a container started from, one per reference and platform. */
  imageBase(ref: string, platform: Platform): ImageBase {
    return this.#images.imageBase(ref, platform);
  }

  /** Records that `vertex`'s op is written from `image`'s config, once it is known. */
  needsImage(vertex: Vertex, image: ImageBase): void {
    this.#images.needsImage(vertex, image);
  }

  /**
   * Asks the engine for the configs of images the graphs below `outputs` start from and
   * have not been told yet, all in one gateway build. Must run before those graphs are
   * marshaled.
   */
  resolveImages(images: ReadonlyArray<ImageBase | Output>): Promise<void> {
    return this.#images.resolve(images, (fn) => this.#inGateway(fn));
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
    if (pendingDeferred([output]).length > 0 && !(await this.#frontends.fromLedger([output]))) {
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
        cacheImports: await this.#cache.imports(),
      }).catch(async (err) => {
        throw this.#explain(await this.#capabilityFailure(err, def), failed);
      });
      if (memo) await this.#ledger?.record(memo, {});
    });
  }

  /** Builds `output` and reads one file out of the result. */
  async readFile(output: Output, path: string): Promise<Uint8Array> {
    this.#solved.push(output);
    if (pendingDeferred([output]).length > 0 && !(await this.#frontends.fromLedger([output]))) {
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
    return this.#frontends.create(name, options);
  }

  /**
   * Runs in `gw` the frontends `output` waits on, so what is built on them is solved in the
   * same build (each step reported once), and returns `output`'s Definition.
   */
  async #afterFrontends(gw: GatewayBuild, output: Output): Promise<Definition> {
    await this.#frontends.run(gw, [output]);
    await this.resolveImages([output]);
    return this.#definition(output);
  }

  /** Checks, once, what can be known about the run before any work. */
  async #preflight(): Promise<void> {
    const docker = this.#docker;
    await this.#cache.check(
      this.#conn.endpoint,
      async () => docker?.builtIn === true && (await docker.imageStore(this.#signal)) === "classic",
    );
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
        cacheImports: await this.#cache.imports(),
      },
      fn,
    ).catch(async (err) => {
      throw this.#explain(def ? await this.#capabilityFailure(err, def) : err, failed);
    });
  }

  /**
   * Exports the build cache of everything this run built, in one solve at the end of the
   * run (see CachePlan.export).
   */
  exportCache(): Promise<void> {
    return this.#cache.export(this.#solved, async (join, exports) => {
      const session = await this.#openSession();
      const res = await solve(this.#conn, {
        definition: this.#definition(join),
        sessionId: session.id,
        onStatus: this.#tap,
        signal: this.#signal,
        cacheImports: await this.#cache.imports(),
        cacheExports: exports,
      }).catch((err) => {
        throw this.#explain(err, new Map());
      });
      return res.exporterResponse;
    });
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
      (pendingDeferred([output]).length > 0 && !(await this.#frontends.fromLedger([output])))
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
            cacheImports: await this.#cache.imports(),
            cacheExports: this.#cache.inlineExports(exporter.type),
            onResponse: (r) => {
              response = r;
            },
          },
          async (gw) => {
            // Frontends run in this build: an image straight from one is its result as is.
            const ids = await this.#frontends.run(gw, [output]);
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
            this.#steps.secretFailed(id, err);
            throw err;
          }
        },
      }),
      createAuthService({ env: this.#env }),
      ...this.#cache.services(),
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
            hint: "the network or the engine went away",
            remedy: { settings: ["silenceTimeout"], does: "sets how long to wait" },
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
      this.#steps.record(status, failed);
      this.#onStatus?.(this.#steps.shown(status));
    };
  }

  readonly #tap = (status: SolveStatus): void => {
    this.#steps.record(status);
    this.#onStatus?.(this.#steps.shown(status));
  };

  /** Explains a failed solve: the lost engine, else the failed step (see StepExplanation). */
  #explain(err: unknown, failed: Map<string, string>): unknown {
    return this.#lostError ?? this.#steps.explain(err, failed);
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
