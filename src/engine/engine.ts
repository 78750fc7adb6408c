/**
 * A live engine: the Docker API of the chosen host and the BuildKit inside it, with the
 * facts `hln engine info` reports. Opening one checks that the engine answers, and fails
 * fast with a message that names the endpoint and how to start one.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type BuildkitConnection, createBuildkitConnection } from "../buildkit/connection.js";
import { createDockerClient, type DockerClient, usesContainerdStore } from "../docker/client.js";
import { HlnError } from "../errors.js";
import { dialerForDockerHost } from "./dial-docker-host.js";
import { type EngineChoice, type ResolveOptions, resolveEngine } from "./resolve.js";

export interface Engine {
  readonly choice: EngineChoice;
  readonly docker: DockerClient;
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
  /** How long the first answer may take. Defaults to 2000 ms. */
  timeoutMs?: number;
}

const startHint =
  "start one with `bash scripts/engine-up.sh` as root (Docker 26 with BuildKit), or point DOCKER_HOST at a running Docker engine";

export async function openEngine(options: OpenEngineOptions = {}): Promise<Engine> {
  const choice = options.choice ?? resolveEngine(options);
  const dialer = dialerForDockerHost(choice.host, options.timeoutMs ?? 2000);
  const docker = createDockerClient(dialer);
  try {
    await docker.ping({ signal: options.signal, timeoutMs: options.timeoutMs ?? 2000 });
  } catch (err) {
    const e = HlnError.from(err, "E_ENGINE_UNREACHABLE");
    if (e.code !== "E_ENGINE_UNREACHABLE") throw e;
    throw new HlnError("E_ENGINE_UNREACHABLE", `${e.message} (engine from ${choice.source})`, {
      cause: err,
      hint: startHint,
    });
  }
  // Docker hands BuildKit over on `POST /grpc`; the session tunnel goes through
  // `POST /session`, where the daemon becomes the HTTP/2 client (moby router/session).
  const buildkit = createBuildkitConnection({
    endpoint: `${dialer.endpoint} (docker /grpc)`,
    connect: () => docker.upgrade("/grpc", {}, options.signal),
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
  let store: Promise<"containerd" | "classic"> | undefined;
  return {
    choice,
    docker,
    buildkit,
    imageStore: (signal) => {
      store ??= docker
        .info({ signal })
        .then((i) => (usesContainerdStore(i) ? "containerd" : "classic"));
      return store;
    },
    close: () => buildkit.close(),
  };
}

export interface EngineInfo {
  choice: EngineChoice;
  endpoint: string;
  docker: { version: string; apiVersion: string; os: string; arch: string };
  buildkit: { version: string; revision: string; source: "Info" | "ListWorkers" | "unknown" };
  workers: { id: string; platforms: string[]; executor?: string; snapshotter?: string }[];
  imageStore: "containerd" | "classic";
}

const label = "org.mobyproject.buildkit.worker.";

export async function engineInfo(engine: Engine, signal?: AbortSignal): Promise<EngineInfo> {
  const [version, info, workers] = await Promise.all([
    engine.docker.version({ signal }),
    engine.docker.info({ signal }),
    engine.buildkit.control.listWorkers({}, { signal }),
  ]);
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
  return {
    choice: engine.choice,
    endpoint: engine.docker.endpoint,
    docker: {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
    },
    buildkit: bk,
    workers: workers.record.map((w) => ({
      id: w.id,
      platforms: w.platforms.map(
        (p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`,
      ),
      executor: w.labels[`${label}executor`],
      snapshotter: w.labels[`${label}snapshotter`],
    })),
    imageStore: usesContainerdStore(info) ? "containerd" : "classic",
  };
}
