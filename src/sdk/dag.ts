import { basename } from "node:path";
import { debuglog } from "node:util";
import type { BuildkitConnection } from "../buildkit/connection.js";
import type { SolveStatus } from "../buildkit/solve-status.js";
import type { Platform } from "../llb/index.js";
import { CacheVolume } from "./cache-volume.js";
import { type Container, emptyContainer } from "./container.js";
import { Directory } from "./directory.js";
import { Host } from "./host.js";
import { Ledger, type LedgerHit } from "./ledger.js";
import { createLedgerStore, defaultLedgerDirectory } from "./ledger-store.js";
import {
  type Secret,
  secretFromCommand,
  secretFromEnv,
  secretFromFile,
  secretFromValue,
} from "./secret.js";
import type { DockerEngineAccess, Redactor } from "./solver.js";
import { TrackedSolver } from "./tracked-solver.js";

const debug = debuglog("hln:ledger");

export interface DagOptions {
  /** The BuildKit to run on (see `openEngine`). */
  connection: BuildkitConnection;
  /** Platform of containers. Defaults to linux on the host's architecture. */
  platform?: Platform;
  /** Receives BuildKit's progress for every solve. */
  onStatus?: (status: SolveStatus) => void;
  /** Cancels every solve in flight on the engine. */
  signal?: AbortSignal;
  /**
   * The Docker engine behind the BuildKit, when there is one. With Docker's classic image
   * store BuildKit cannot write image tarballs or push, and hln does those through the
   * Docker API instead.
   */
  docker?: DockerEngineAccess;
  /** Environment for secrets and registry credentials. Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Learns secret values and redacts them; share it with whatever prints output. */
  redactor?: Redactor;
  /**
   * Build cache to import (every solve) and export (once, when the dag closes), as
   * BuildKit cache entries: `{ type: "registry", attrs: { ref, mode: "max" } }`,
   * `{ type: "inline" }`, `{ type: "local", attrs: { dest: "/abs/dir" } }` (`src` to
   * import). A local directory is served to BuildKit from this process.
   */
  cache?: {
    imports?: { type: string; attrs?: Record<string, string> }[];
    exports?: { type: string; attrs?: Record<string, string> }[];
  };
  /** Told about things that did not stop the run, e.g. a cache import that was skipped. */
  onWarning?: (message: string) => void;
  /**
   * How long the engine may go without checking on the session (it does every 5 s)
   * before the run fails as disconnected, instead of hanging on a silent network drop.
   * Default 30 s.
   */
  silenceTimeoutMs?: number;
  /** Told what each host directory transfer sent: files and bytes. */
  onTransfer?: (
    hostPath: string,
    stats: { files: number; bytesSent: number; requested: number },
  ) => void;
  /**
   * The directory the stack lives in. Exports never remove it (nor the working directory,
   * home, `/`, or anything holding one of them), even with `{ wipe: true }`.
   */
  stackDirectory?: string;
  /** Run every step again instead of reusing the build cache, as `--no-cache` asks. */
  noCache?: boolean;
  /**
   * Answer a request whose inputs are all unchanged since a run recorded its answer from
   * the local ledger, without a BuildKit round trip (see ledger.ts): the same Definition,
   * the same image IDs in the Docker engine, the same synced host files. Off unless given.
   * Applies only to a Docker engine's built-in BuildKit (`docker.builtIn`), and never
   * with `noCache` or cache exports. `directory` defaults to `$XDG_CACHE_HOME/hln/ledger`.
   */
  ledger?: { directory?: string; onHit?: (hit: LedgerHit) => void };
}

/** The entry point of the SDK: creates the objects a stack builds its graph from. */
export interface Dag {
  /** An empty container; start it with `.from(ref)`. */
  container(options?: { platform?: Platform }): Container;
  /** An empty directory. */
  directory(): Directory;
  /** A named cache volume for `withMountedCache`. */
  cacheVolume(name: string): CacheVolume;
  /** Files and directories of the machine running hln. */
  host(): Host;
  /** A secret with a value given here. */
  setSecret(name: string, value: string | Uint8Array): Secret;
  /** A secret read from an environment variable; fails now if it is unset. */
  secretFromEnv(variable: string, options?: { name?: string }): Secret;
  /** A secret read from a file when a step first needs it. */
  secretFromFile(path: string, options?: { name?: string }): Secret;
  /**
   * A secret printed by a command (e.g. a password manager), run when a step first needs
   * it. The command gets no standard input and `timeoutMs` (default 60 000) to print the
   * value and exit; then it is killed and the run fails naming it.
   */
  secretFromCommand(argv: string[], options: { name: string; timeoutMs?: number }): Secret;
  /**
   * Ends the session with the engine. First it waits for requests still running that
   * nobody awaited, then exports the build cache when the dag has cache exports. After a
   * failure, skip both with `{ settle: false, exportCache: false }`: closing cancels what
   * still runs.
   */
  close(options?: { exportCache?: boolean; settle?: boolean }): Promise<void>;
}

/** The run's ledger, or undefined (and why, in the debug log) when it must not answer anything. */
function ledgerOf(options: DagOptions): Ledger | undefined {
  const wanted = options.ledger;
  if (!wanted) return undefined;
  const docker = options.docker;
  const why = !docker?.builtIn
    ? "the BuildKit is not the Docker engine's own: its images come from a registry"
    : options.noCache
      ? "noCache: every step runs again"
      : (options.cache?.exports?.length ?? 0) > 0
        ? "the run exports build cache"
        : undefined;
  if (why || !docker) {
    debug("off for this run: %s", why);
    return undefined;
  }
  return new Ledger({
    store: createLedgerStore(
      wanted.directory ?? defaultLedgerDirectory(options.env ?? process.env),
    ),
    docker: docker.docker,
    endpoint: options.connection.endpoint,
    signal: options.signal,
    onHit: wanted.onHit,
  });
}

/**
 * The platform containers get unless told otherwise: linux on this machine's architecture.
 *
 * @example
 * hostPlatform(); // { os: "linux", architecture: "amd64" } on an x86-64 machine
 */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    s390x: "s390x",
    ppc64: "ppc64le",
  };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch };
}

/**
 * @example
 * const engine = await openEngine();
 * const dag = createDag({ connection: engine.buildkit });
 * console.log(await dag.container().from("busybox").withExec(["echo", "hi"]).stdout());
 * await dag.close();
 * engine.close();
 */
export function createDag(options: DagOptions): Dag {
  const platform = options.platform ?? hostPlatform();
  const solver = new TrackedSolver({ ...options, platform, ledger: ledgerOf(options) });
  // Values known up front are redacted from the start, even before a step asks for them.
  const learn = (secret: Secret): Secret => {
    void secret.value().then((v) => options.redactor?.add(v));
    return secret;
  };
  return {
    container: (o = {}) => emptyContainer(solver, o.platform ?? platform),
    directory: () => new Directory(solver, null),
    cacheVolume: (name) => new CacheVolume(name),
    host: () => new Host(solver),
    setSecret: (name, value) => learn(secretFromValue(name, value, solver.env)),
    secretFromEnv: (variable, o = {}) =>
      learn(secretFromEnv(variable, solver.env, o.name ?? variable)),
    secretFromFile: (path, o = {}) => secretFromFile(path, o.name ?? basename(path)),
    secretFromCommand: (argv, o) => secretFromCommand(argv, o.name, options.signal, o.timeoutMs),
    close: async (o = {}) => {
      try {
        if (o.settle ?? true) {
          const left = await solver.settle();
          if (left > 0)
            options.onWarning?.(
              `${left} request${left === 1 ? "" : "s"} nobody awaited ${left === 1 ? "was" : "were"} still running at the end of the run; hln waited for ${left === 1 ? "it" : "them"}`,
            );
        }
        if (o.exportCache ?? true) await solver.exportCache();
      } finally {
        await solver.close();
      }
    },
  };
}
