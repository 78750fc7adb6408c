/**
 * The Docker engine apps are deployed to: the one `DOCKER_HOST` / the Docker context names
 * (the local socket by default), whatever engine builds. `hln status`, `logs`, `down` and
 * `list apps` need only this, not BuildKit, so they open it alone and fail as fast as
 * `openEngine` does, naming the endpoint and where it came from.
 */
import { createDockerClient, type DockerClient } from "../docker/client.js";
import { HlnError } from "../errors.js";
import { dialerForDockerHost } from "./dial-docker-host.js";
import { answerBound, named, pingDocker } from "./engine.js";
import { resolveDockerHost } from "./resolve.js";

export interface DeployEngine {
  docker: DockerClient;
  /** Docker's `/info` ID: app state is kept per engine under it. */
  id: string;
  endpoint: string;
  /** Where the choice came from, e.g. `DOCKER_HOST`, `default socket`. */
  source: string;
  close(): void;
}

export interface OpenDeployEngineOptions {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** How long the first answer may take. Defaults to 2000 ms, as for `openEngine`. */
  timeoutMs?: number;
}

export async function openDeployEngine(options: OpenDeployEngineOptions): Promise<DeployEngine> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const choice = resolveDockerHost({ env: options.env });
  const dialer = named(choice.source, () =>
    dialerForDockerHost(choice.host, { connectTimeoutMs: timeoutMs, env: options.env }),
  );
  const docker = createDockerClient(dialer, { answerTimeoutMs: answerBound(timeoutMs) });
  await pingDocker(docker, choice.source, timeoutMs, options.signal);
  try {
    return await deployEngineOf(docker, choice.source, options.signal);
  } catch (err) {
    docker.close();
    throw err;
  }
}

/** For `hln up`, which already holds the Docker client of its engine; closing closes it. */
export async function deployEngineOf(
  docker: DockerClient,
  source: string,
  signal?: AbortSignal,
): Promise<DeployEngine> {
  const info = await docker.info({ signal });
  // Every daemon since Docker 1.x reports an ID; without one, state could land under
  // another engine's name, so this refuses rather than guesses.
  if (!info.ID)
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `${docker.endpoint}: the Docker engine reported no ID in /info (engine from ${source})`,
    );
  return {
    docker,
    id: info.ID,
    endpoint: docker.endpoint,
    source,
    close: () => docker.close(),
  };
}
