/**
 * Swarm tasks: the units a service runs as, one per replica (or per run of a job), each on
 * a node. They are how hln tells where a service runs and whether an update took.
 */
import type { DockerClient } from "./client.js";

export interface TaskDetails {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt: string;
  UpdatedAt: string;
  /** The service version the task was made for. */
  Version: { Index: number };
  Spec: { ContainerSpec?: { Image?: string }; ForceUpdate?: number };
  /** A job's tasks: which run of the job they belong to. */
  JobIteration?: { Index: number };
  /** running | shutdown | … */
  DesiredState: string;
  Status: {
    Timestamp?: string;
    /** new … pending, assigned, accepted, preparing, starting, running, complete, shutdown, failed, rejected, remove, orphaned */
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  };
}

/** `GET /tasks` of the given services (IDs or names), newest first. */
export async function listTasks(
  docker: DockerClient,
  o: {
    services: string[];
    desiredState?: "running" | "shutdown" | "accepted";
    signal?: AbortSignal;
  },
): Promise<TaskDetails[]> {
  const filters: Record<string, string[]> = { service: o.services };
  if (o.desiredState) filters["desired-state"] = [o.desiredState];
  const tasks = await docker.json<TaskDetails[]>(
    "GET",
    `/tasks?filters=${encodeURIComponent(JSON.stringify(filters))}`,
    { signal: o.signal },
  );
  return tasks.sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
}

export interface NodeDetails {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

/** `GET /nodes`: the swarm's nodes (a manager only). */
export async function listNodes(
  docker: DockerClient,
  signal?: AbortSignal,
): Promise<NodeDetails[]> {
  return await docker.json<NodeDetails[]>("GET", "/nodes", { signal });
}
