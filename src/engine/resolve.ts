/**
 * Which engine to use, and why. The answer is plain data so `hln engine info` can
 * explain it and tests can check it without a daemon.
 *
 * Order: the `--engine` flag, then BUILDKIT_HOST (a BuildKit address, as buildctl reads
 * it), then the Docker engine as the Docker CLI finds it: DOCKER_HOST, else
 * DOCKER_CONTEXT, else the current context in the Docker config, else the default socket.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { HlnError } from "../errors.js";

/** A Docker engine and where its address came from. */
export interface DockerHostChoice {
  /** The Docker host URL, e.g. `unix:///var/run/docker.sock`, `ssh://root@host`. */
  host: string;
  /** Where the choice came from, e.g. `DOCKER_HOST`, `docker context "ci" (~/.docker/config.json)`. */
  source: string;
}

export type EngineChoice =
  /** The built-in BuildKit of a Docker engine. */
  | ({ kind: "docker" } & DockerHostChoice)
  /**
   * A BuildKit named by its address: `tcp://`, `unix://` or `docker-container://NAME`.
   * `docker` is the Docker engine that `docker-container://` runs in and that deploys go
   * to; it is resolved as the Docker CLI would.
   */
  | {
      kind: "buildkit";
      address: string;
      source: string;
      docker: DockerHostChoice;
    };

export interface ResolveOptions {
  /** A BuildKit address, or `docker` for the Docker engine (the CLI's `--engine`). */
  engine?: string;
  /**
   * How messages and `hln engine info` name where `engine` came from: the CLI passes its
   * flag. Default `engine option`.
   */
  engineFrom?: string;
  env?: NodeJS.ProcessEnv;
  /** Reads a file as text, or returns undefined when it does not exist. */
  readFile?: (path: string) => string | undefined;
  home?: string;
}

export const defaultDockerHost = "unix:///var/run/docker.sock";

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Which engine to use, and why, without connecting: `options.engine`, then BUILDKIT_HOST, then
 * the Docker host as the Docker CLI finds it (DOCKER_HOST, docker context, the local socket).
 *
 * @example
 * const choice = resolveEngine({ env: { BUILDKIT_HOST: "tcp://buildkit:1234" } });
 * // { kind: "buildkit", address: "tcp://buildkit:1234", source: "BUILDKIT_HOST", ... }
 */
export function resolveEngine(options: ResolveOptions = {}): EngineChoice {
  const env = options.env ?? process.env;
  const flag = options.engine?.trim();
  if (flag && flag !== "docker")
    return {
      kind: "buildkit",
      address: flag,
      source: options.engineFrom ?? "engine option",
      docker: resolveDockerHost(options),
    };
  if (!flag && env.BUILDKIT_HOST)
    return {
      kind: "buildkit",
      address: env.BUILDKIT_HOST,
      source: "BUILDKIT_HOST",
      docker: resolveDockerHost(options),
    };
  return { kind: "docker", ...resolveDockerHost(options) };
}

/** The Docker engine, found as the Docker CLI finds it. */
export function resolveDockerHost(options: ResolveOptions = {}): DockerHostChoice {
  const env = options.env ?? process.env;
  const read = options.readFile ?? readIfExists;
  const configDir = env.DOCKER_CONFIG || join(options.home ?? homedir(), ".docker");

  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST, source: "DOCKER_HOST" };

  let context = env.DOCKER_CONTEXT;
  let source = "DOCKER_CONTEXT";
  const configPath = join(configDir, "config.json");
  if (!context) {
    const text = read(configPath);
    if (text !== undefined) {
      try {
        context = (JSON.parse(text) as { currentContext?: string }).currentContext;
      } catch (err) {
        throw new HlnError("E_INPUT_INVALID", `${configPath}: not valid JSON`, { cause: err });
      }
      source = `currentContext in ${configPath}`;
    }
  }
  if (context && context !== "default") {
    // The CLI stores each context under the sha256 of its name (docker/cli context/store).
    const id = createHash("sha256").update(context).digest("hex");
    const metaPath = join(configDir, "contexts", "meta", id, "meta.json");
    const text = read(metaPath);
    if (text === undefined) {
      throw new HlnError(
        "E_INPUT_INVALID",
        `docker context "${context}" (from ${source}) does not exist: no ${metaPath}`,
      );
    }
    let host: string | undefined;
    try {
      host = (JSON.parse(text) as { Endpoints?: { docker?: { Host?: string } } }).Endpoints?.docker
        ?.Host;
    } catch (err) {
      throw new HlnError("E_INPUT_INVALID", `${metaPath}: not valid JSON`, { cause: err });
    }
    if (!host) {
      throw new HlnError("E_INPUT_INVALID", `${metaPath}: Endpoints.docker.Host is missing`);
    }
    return { host, source: `docker context "${context}" (${source})` };
  }
  return { host: defaultDockerHost, source: "default socket" };
}
