import type { BuildkitConnection } from "../buildkit/connection.js";
import type { SolveStatus } from "../buildkit/solve-status.js";
import type { Platform } from "../llb/index.js";
import { CacheVolume } from "./cache-volume.js";
import { type Container, emptyContainer } from "./container.js";
import { Directory } from "./directory.js";
import { Solver } from "./solver.js";

export interface DagOptions {
  /** The BuildKit to run on (see `openEngine`). */
  connection: BuildkitConnection;
  /** Platform of containers. Defaults to linux on the host's architecture. */
  platform?: Platform;
  /** Receives BuildKit's progress for every solve. */
  onStatus?: (status: SolveStatus) => void;
  /** Cancels every solve in flight on the engine. */
  signal?: AbortSignal;
}

/** The entry point of the SDK: creates the objects a stack builds its graph from. */
export interface Dag {
  /** An empty container; start it with `.from(ref)`. */
  container(options?: { platform?: Platform }): Container;
  /** An empty directory. */
  directory(): Directory;
  /** A named cache volume for `withMountedCache`. */
  cacheVolume(name: string): CacheVolume;
  /** Ends the session with the engine. */
  close(): Promise<void>;
}

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
  const solver = new Solver(options);
  const platform = options.platform ?? hostPlatform();
  return {
    container: (o = {}) => emptyContainer(solver, o.platform ?? platform),
    directory: () => new Directory(solver, null),
    cacheVolume: (name) => new CacheVolume(name),
    close: () => solver.close(),
  };
}
