/**
 * Swarm service operations through the Docker Engine API: what `hln up`, `status`, `logs`,
 * `rollback` and `down` need on a swarm manager. A service is changed by sending its whole
 * spec with the version it was read at, so two writers cannot silently undo each other.
 */
import { type DockerClient, DockerHttpError, httpStatus } from "./client.js";
import { type LogLine, type LogOptions, logsAt } from "./containers.js";
import { labelQuery } from "./label-filter.js";

/** The parts of a service spec hln writes and reads; Docker keeps the rest as it was. */
export interface ServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels?: Record<string, string>;
      Command?: string[];
      Args?: string[];
      Env?: string[];
      Dir?: string;
      User?: string;
      Mounts?: {
        Type: "volume" | "bind";
        Source: string;
        Target: string;
        ReadOnly?: boolean;
        VolumeOptions?: { Labels?: Record<string, string> };
      }[];
      Healthcheck?: {
        Test: string[];
        Interval?: number;
        Timeout?: number;
        Retries?: number;
        StartPeriod?: number;
      };
      Secrets?: {
        File: { Name: string; UID: string; GID: string; Mode: number };
        SecretID: string;
        SecretName: string;
      }[];
      StopGracePeriod?: number;
      Init?: boolean;
    };
    RestartPolicy?: {
      Condition: "none" | "on-failure" | "any";
      Delay?: number;
      MaxAttempts?: number;
    };
    Placement?: { Constraints?: string[]; MaxReplicas?: number };
    Networks?: { Target: string; Aliases?: string[] }[];
    ForceUpdate?: number;
  };
  Mode:
    | { Replicated: { Replicas: number } }
    | { ReplicatedJob: { MaxConcurrent: number; TotalCompletions: number } };
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: {
    Mode?: "vip" | "dnsrr";
    Ports?: {
      Protocol: "tcp" | "udp";
      TargetPort: number;
      PublishedPort: number;
      PublishMode: "ingress" | "host";
    }[];
  };
}

export interface UpdateConfig {
  Parallelism: number;
  /** Nanoseconds. */
  Delay?: number;
  FailureAction?: "continue" | "pause" | "rollback";
  /** Nanoseconds a new task is watched for failing after it runs. */
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: "stop-first" | "start-first";
}

export interface ServiceDetails {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint?: {
    Ports?: {
      Protocol: string;
      TargetPort: number;
      PublishedPort?: number;
      PublishMode?: string;
    }[];
    VirtualIPs?: { NetworkID: string; Addr: string }[];
  };
  /** Absent until the service's first update. */
  UpdateStatus?: {
    /** updating | paused | completed | rollback_started | rollback_paused | rollback_completed */
    State?: string;
    StartedAt?: string;
    CompletedAt?: string;
    Message?: string;
  };
  /** With `status=true`: how many tasks run and are wanted. */
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks?: number };
  JobStatus?: { JobIteration: { Index: number }; LastExecution?: string };
}

/** `GET /services` of the services carrying every one of `labels`, with task counts. */
export async function listServices(
  docker: DockerClient,
  o: { labels?: string[]; signal?: AbortSignal } = {},
): Promise<ServiceDetails[]> {
  const query = [labelQuery(o.labels), "status=true"].filter(Boolean).join("&");
  return await docker.json<ServiceDetails[]>("GET", `/services?${query}`, { signal: o.signal });
}

/** `GET /services/{id}`, or undefined when there is no such service. */
export async function inspectService(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<ServiceDetails | undefined> {
  try {
    return await docker.json<ServiceDetails>("GET", `/services/${encodeURIComponent(id)}`, {
      signal,
    });
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  }
}

/**
 * `POST /services/create`; resolves with the new service's ID. `registryAuth` (the
 * X-Registry-Auth value) lets every node pull from a registry that needs credentials.
 */
export async function createService(
  docker: DockerClient,
  spec: ServiceSpec,
  o: { registryAuth?: string; signal?: AbortSignal } = {},
): Promise<string> {
  const path = "/services/create";
  try {
    const { ID } = await docker.json<{ ID: string }>("POST", path, {
      body: spec,
      headers: o.registryAuth ? { "X-Registry-Auth": o.registryAuth } : undefined,
      signal: o.signal,
    });
    return ID;
  } catch (err) {
    if (httpStatus(err) === 409)
      throw new DockerHttpError(
        409,
        `${docker.endpoint}: POST ${path}: a service named "${spec.Name}" already exists`,
        "E_USAGE",
        { cause: err },
      );
    throw err;
  }
}

/**
 * `POST /services/{id}/update` at `version` (from the inspect the spec was derived from).
 * With `rollback: true` the spec is ignored and the service goes back to its previous one.
 */
export async function updateService(
  docker: DockerClient,
  id: string,
  version: number,
  spec: ServiceSpec,
  o: { rollback?: boolean; registryAuth?: string; signal?: AbortSignal } = {},
): Promise<void> {
  const query = new URLSearchParams({ version: String(version) });
  if (o.rollback) query.set("rollback", "previous");
  await docker.json("POST", `/services/${encodeURIComponent(id)}/update?${query}`, {
    body: spec,
    headers: o.registryAuth ? { "X-Registry-Auth": o.registryAuth } : undefined,
    signal: o.signal,
  });
}

/** `DELETE /services/{id}`; a service already gone is fine. Its tasks stop on their nodes. */
export async function removeService(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await docker.json("DELETE", `/services/${encodeURIComponent(id)}`, { signal });
  } catch (err) {
    if (httpStatus(err) !== 404) throw err;
  }
}

/** The service's log: every task's lines, merged by the engine, each with its task's identity. */
export function serviceLogs(
  docker: DockerClient,
  id: string,
  o: Omit<LogOptions, "details">,
): AsyncIterable<LogLine> {
  return logsAt(docker, `/services/${encodeURIComponent(id)}`, { ...o, details: true });
}

/** One task's log, e.g. of the task that failed its health check. */
export function taskLogs(
  docker: DockerClient,
  id: string,
  o: Omit<LogOptions, "details">,
): AsyncIterable<LogLine> {
  return logsAt(docker, `/tasks/${encodeURIComponent(id)}`, o);
}
