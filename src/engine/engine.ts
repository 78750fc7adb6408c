/**
 * A live engine: the Docker API of the chosen host and the BuildKit inside it, with the
 * facts `hln engine info` reports. Opening one checks that the engine answers, and fails
 * fast with a message that names the endpoint and how to start one.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { engineCapabilities } from "../buildkit/capabilities.js";
import { type BuildkitConnection, createBuildkitConnection } from "../buildkit/connection.js";
import { createDockerClient, type DockerClient, usesContainerdStore } from "../docker/client.js";
import { execStdioDialer } from "../docker/exec-stdio.js";
import { HlnError, type Remedy } from "../errors.js";
import { type Dialer, tcpDialer, tlsDialer, unixDialer } from "../transport/dialer.js";
import { unreachable } from "../transport/node-error.js";
import { parseBuildkitAddress, tlsFromEnv } from "./buildkit-address.js";
import { dialerForDockerHost } from "./dial-docker-host.js";
import {
  type EngineChoice,
  type ResolveOptions,
  resolveDockerHost,
  resolveEngine,
} from "./resolve.js";

export interface Engine {
  readonly choice: EngineChoice;
  /**
   * The Docker engine: the one whose BuildKit this is, or, for a BuildKit named by
   * address, the one deploys go to (and `docker-container://` runs in).
   */
  readonly docker: DockerClient;
  /** True when BuildKit is the Docker engine's own, so images land in its store directly. */
  readonly builtIn: boolean;
  readonly buildkit: BuildkitConnection;
  /** Which image store the Docker engine uses; asked once, when first needed. */
  imageStore(signal?: AbortSignal): Promise<"containerd" | "classic">;
  /** Closes every connection the engine holds. */
  close(): void;
}

export interface OpenEngineOptions extends ResolveOptions {
  /** Use this choice instead of resolving one from the environment. */
  choice?: EngineChoice;
  signal?: AbortSignal;
  /**
   * The flags that set BUILDKIT_TLS_* variables, by variable (`{ BUILDKIT_TLS_CA:
   * "--tlscacert" }`), so errors name what the user typed.
   */
  tlsFlags?: Record<string, string>;
  /** How long the first answer may take. Defaults to 2000 ms. */
  timeoutMs?: number;
}

// What works wherever hln is installed; the repository's own engine script is for
// developing hln (docs/engines.md, README's Development).
const startHint = "start Docker (sudo systemctl start docker)";
const startRemedy: Remedy = {
  lead: "or set",
  settings: ["dockerHost", "engine"],
  does: "to a running engine",
};

const buildkitHint = "check that buildkitd serves that address";
const buildkitRemedy: Remedy = {
  lead: "or drop",
  settings: ["engine"],
  does: "to use the Docker engine",
};

/**
 * Connects to the engine `resolveEngine` chooses (or `options.choice`), and checks that it
 * answers within `timeoutMs`; fails with E_ENGINE_UNREACHABLE naming the endpoint.
 *
 * @example
 * const engine = await openEngine(); // BUILDKIT_HOST, else DOCKER_HOST, docker context, local socket
 * try {
 *   console.log(engine.choice.kind, engine.buildkit.endpoint);
 * } finally {
 *   engine.close();
 * }
 */
export async function openEngine(options: OpenEngineOptions = {}): Promise<Engine> {
  const choice = options.choice ?? resolveEngine(options);
  const timeoutMs = options.timeoutMs ?? 2000;
  const env = options.env ?? process.env;
  if (choice.kind === "buildkit") return openBuildkit(choice, options, timeoutMs);

  const dialer = named(choice.source, () =>
    dialerForDockerHost(choice.host, { connectTimeoutMs: timeoutMs, env }),
  );
  const answerTimeoutMs = answerBound(timeoutMs);
  const docker = createDockerClient(dialer, { answerTimeoutMs });
  await pingDocker(docker, choice.source, timeoutMs, options.signal);
  // Docker hands BuildKit over on `POST /grpc`; the session tunnel goes through
  // `POST /session`, where the daemon becomes the HTTP/2 client (moby router/session).
  const buildkit = createBuildkitConnection({
    endpoint: `${dialer.endpoint} (docker /grpc)`,
    connect: () => docker.upgrade("/grpc", {}, options.signal),
    answerTimeoutMs,
    openSessionTunnel: (h, signal) =>
      docker.upgrade(
        "/session",
        {
          "X-Docker-Expose-Session-Uuid": h.uuid,
          "X-Docker-Expose-Session-Name": h.name,
          "X-Docker-Expose-Session-Sharedkey": h.sharedKey,
          "X-Docker-Expose-Session-Grpc-Method": h.methods,
        },
        signal,
      ),
  });
  return engineOf(choice, docker, buildkit, true);
}

/**
 * The bound on answers a Docker engine gives at once (JSON calls, the 101 of an upgrade,
 * BuildKit's HTTP/2 settings behind it): a daemon or proxy that takes a connection and
 * never speaks would otherwise hold the run forever, Ctrl-C aside. Five times the first
 * answer's bound, because these come later in a run, when the daemon may be busy building.
 */
export function answerBound(timeoutMs: number): number {
  return 5 * timeoutMs;
}

/** Runs `make`; a bad address it throws on names where it came from, e.g. DOCKER_HOST. */
export function named<T>(source: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof HlnError) || !["E_INPUT_INVALID", "E_USAGE"].includes(err.code)) throw err;
    throw new HlnError(err.code, `${err.message} (engine from ${source})`, {
      cause: err,
      hint: err.hint,
    });
  }
}

/**
 * Proves the Docker engine answers, bounded by `timeoutMs` once connected (over ssh the
 * dialer bounds the handshake itself), and closes the client when it does not.
 */
export async function pingDocker(
  docker: DockerClient,
  source: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await docker.ping({ signal, timeoutMs });
  } catch (err) {
    docker.close();
    const e = HlnError.from(err, "E_ENGINE_UNREACHABLE");
    if (e.code !== "E_ENGINE_UNREACHABLE") throw e;
    throw new HlnError("E_ENGINE_UNREACHABLE", `${e.message} (engine from ${source})`, {
      cause: err,
      hint: startHint,
      remedy: startRemedy,
    });
  }
}

function engineOf(
  choice: EngineChoice,
  docker: DockerClient,
  buildkit: BuildkitConnection,
  builtIn: boolean,
): Engine {
  let store: Promise<"containerd" | "classic"> | undefined;
  return {
    choice,
    docker,
    builtIn,
    buildkit,
    imageStore: (signal) => {
      store ??= docker
        .info({ signal })
        .then((i) => (usesContainerdStore(i) ? "containerd" : "classic"));
      return store;
    },
    close: () => {
      buildkit.close();
      docker.close();
    },
  };
}

/**
 * A BuildKit named by address. Its session runs inside `Control.Session`, as with any
 * standalone buildkitd. Reachability is proven with ListWorkers. Connecting has its own
 * bound (the dialer's); the answer's bound starts once connected, so a slow path (an ssh
 * handshake, then a `docker exec`) is not mistaken for a silent one.
 */
async function openBuildkit(
  choice: Extract<EngineChoice, { kind: "buildkit" }>,
  options: OpenEngineOptions,
  timeoutMs: number,
): Promise<Engine> {
  const env = options.env ?? process.env;
  const address = parseBuildkitAddress(choice.address, choice.source);
  let dockerHost = choice.docker.host;
  if (address.scheme === "docker-container" && address.context)
    dockerHost = resolveDockerHost({
      ...options,
      env: { ...env, DOCKER_HOST: "", DOCKER_CONTEXT: address.context },
    }).host;
  const docker = createDockerClient(
    named(choice.docker.source, () =>
      dialerForDockerHost(dockerHost, { connectTimeoutMs: timeoutMs, env }),
    ),
    { answerTimeoutMs: answerBound(timeoutMs) },
  );
  // `buildctl dial-stdio` is a process that starts in the container before it can answer,
  // as `docker system dial-stdio` is on the far side of ssh; they get the same bound.
  const answerMs = address.scheme === "docker-container" ? Math.max(timeoutMs, 5000) : timeoutMs;
  let dialer: Dialer;
  switch (address.scheme) {
    case "tcp": {
      const tls = tlsFromEnv(env, undefined, undefined, options.tlsFlags);
      dialer = tls
        ? tlsDialer(address.host, address.port, tls, { connectTimeoutMs: timeoutMs })
        : tcpDialer(address.host, address.port, { connectTimeoutMs: timeoutMs });
      break;
    }
    case "unix":
      dialer = unixDialer(address.path, { connectTimeoutMs: timeoutMs });
      break;
    case "docker-container":
      // The Docker engine first: its failure (an ssh host that does not answer) is its own.
      await pingDocker(docker, choice.source, timeoutMs, options.signal);
      dialer = execStdioDialer(docker, address.container, ["buildctl", "dial-stdio"]);
      break;
  }
  const silent = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let connected: (() => void) | undefined = () => {
    connected = undefined;
    timer = setTimeout(() => silent.abort(), answerMs);
  };
  const buildkit = createBuildkitConnection({
    endpoint: dialer.endpoint,
    connect: async () => {
      const stream = await dialer.dial({ signal: options.signal });
      connected?.();
      return stream;
    },
    // The probe bounds the first connection; this, the ones after a drop.
    answerTimeoutMs: answerBound(answerMs),
  });
  const probe = AbortSignal.any([silent.signal, ...(options.signal ? [options.signal] : [])]);
  try {
    await buildkit.control.listWorkers({}, { signal: probe });
  } catch (err) {
    buildkit.close();
    docker.close();
    if (options.signal?.aborted)
      throw new HlnError("E_ABORTED", "cancelled", { cause: options.signal.reason });
    const why = silent.signal.aborted
      ? {
          message: `cannot reach ${dialer.endpoint}: connected, but ${address.scheme === "docker-container" ? "buildctl dial-stdio" : "BuildKit"} did not answer within ${answerMs / 1000} s`,
          remedy: tlsRemedy(dialer.endpoint),
        }
      : probeFailure(dialer.endpoint, err);
    throw new HlnError("E_ENGINE_UNREACHABLE", `${why.message} (engine from ${choice.source})`, {
      cause: err,
      hint: buildkitHint,
      remedy: why.remedy ?? buildkitRemedy,
    });
  } finally {
    clearTimeout(timer);
  }
  return engineOf(choice, docker, buildkit, false);
}

/** A plain tcp:// endpoint that stays silent may be a TLS one spoken to in the clear. */
function tlsRemedy(endpoint: string): Remedy | undefined {
  return /^tcp:\/\/[^ ]+$/.test(endpoint)
    ? { lead: "if it speaks TLS, set", settings: ["tlsCa"] }
    : undefined;
}

/**
 * What the transport reported under gRPC's wrapping (an engine that went silent, a
 * refused upgrade), so the user reads the cause rather than an "[unknown]" RPC error.
 */
function transportCause(err: unknown): unknown {
  for (let c: unknown = err; c; c = (c as { cause?: unknown }).cause)
    if (c instanceof HlnError) return c;
  return err;
}

/** The root cause of a failed first call, without gRPC's wrapping, and what fixes it. */
function probeFailure(endpoint: string, err: unknown): { message: string; remedy?: Remedy } {
  let cause: unknown = err;
  while (cause && !(cause instanceof HlnError) && (cause as { cause?: unknown }).cause)
    cause = (cause as { cause?: unknown }).cause;
  if (cause instanceof HlnError) return { message: cause.message, remedy: cause.remedy };
  const ce = ConnectError.from(err);
  const sys = (cause as { code?: string })?.code;
  if (sys) {
    const e = unreachable(endpoint, cause);
    return { message: e.message, remedy: e.remedy };
  }
  return { message: `cannot reach ${endpoint}: ${ce.rawMessage}` };
}

export interface EngineInfo {
  choice: EngineChoice;
  endpoint: string;
  /** The Docker engine whose BuildKit this is; absent for a BuildKit named by address. */
  docker?: { version: string; apiVersion: string; os: string; arch: string };
  buildkit: {
    version: string;
    revision: string;
    /**
     * Where the version came from: the engine itself (Info, ListWorkers), or inferred from
     * the caps it knows (`capabilities`) or from the Docker release (`docker`).
     */
    source: "Info" | "ListWorkers" | "capabilities" | "docker" | "unknown";
  };
  workers: { id: string; platforms: string[]; executor?: string; snapshotter?: string }[];
  imageStore?: "containerd" | "classic";
}

const label = "org.mobyproject.buildkit.worker.";

/** The BuildKit minor each Docker major release vendors (moby vendor.mod, buildx driver/docker). */
const vendored: Record<string, string> = {
  "20": "v0.8",
  "23": "v0.10",
  "24": "v0.11",
  "25": "v0.12",
  "26": "v0.13",
  "27": "v0.14",
  "28": "v0.20",
};

/**
 * What the engine is: its choice and endpoint, the Docker and BuildKit versions, workers
 * and image store.
 *
 * @example
 * const info = await engineInfo(engine);
 * console.log(info.buildkit.version, info.workers.map((w) => w.platforms));
 */
export async function engineInfo(engine: Engine, signal?: AbortSignal): Promise<EngineInfo> {
  const builtIn = engine.builtIn;
  const [version, imageStore, workers] = await Promise.all([
    builtIn ? engine.docker.version({ signal }) : undefined,
    builtIn ? engine.imageStore(signal) : undefined,
    engine.buildkit.control.listWorkers({}, { signal }),
  ]).catch((err) => {
    throw transportCause(err);
  });
  let bk: EngineInfo["buildkit"] = { version: "", revision: "", source: "unknown" };
  try {
    const res = await engine.buildkit.control.info({}, { signal });
    bk = {
      version: res.buildkitVersion?.version ?? "",
      revision: res.buildkitVersion?.revision ?? "",
      source: "Info",
    };
  } catch (err) {
    // Info arrived in BuildKit 0.11; older engines answer UNIMPLEMENTED.
    if (ConnectError.from(err).code !== Code.Unimplemented) throw err;
    const v = workers.record.find((w) => w.buildkitVersion?.version)?.buildkitVersion;
    if (v) bk = { version: v.version, revision: v.revision, source: "ListWorkers" };
  }
  // Distribution builds report v0.0.0+unknown and BuildKit before 0.11 reports nothing;
  // the caps it knows still place it, and failing that the Docker release does.
  if (!bk.version || bk.version.startsWith("v0.0.0")) {
    const caps = await engineCapabilities(engine.buildkit, { sessionId: "", signal }).catch(
      () => undefined,
    );
    const minor = version && vendored[version.Version.split(".")[0] ?? ""];
    // Caps only bound an old engine from above; its Docker release names it exactly.
    if (caps?.atLeast) bk = { version: caps.release, revision: "", source: "capabilities" };
    else if (minor) bk = { version: `${minor}.x`, revision: "", source: "docker" };
    else if (caps) bk = { version: caps.release, revision: "", source: "capabilities" };
  }
  return {
    choice: engine.choice,
    endpoint: builtIn ? engine.docker.endpoint : engine.buildkit.endpoint,
    ...(version
      ? {
          docker: {
            version: version.Version,
            apiVersion: version.ApiVersion,
            os: version.Os,
            arch: version.Arch,
          },
        }
      : {}),
    buildkit: bk,
    workers: workers.record.map((w) => ({
      id: w.id,
      platforms: w.platforms.map(
        (p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`,
      ),
      executor: w.labels[`${label}executor`],
      snapshotter: w.labels[`${label}snapshotter`],
    })),
    ...(imageStore ? { imageStore } : {}),
  };
}
