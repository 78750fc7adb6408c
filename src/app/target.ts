/**
 * Where an app runs: on one Docker engine (its containers), or on the swarm that engine
 * manages (services scheduled over its nodes). A swarm manager means the swarm unless the
 * user says otherwise, so the same stack, unchanged, goes to either.
 */
import type { DockerInfo } from "../docker/client.js";
import { HlnError } from "../errors.js";

export type Target = "docker" | "swarm";

export const targets: readonly Target[] = ["docker", "swarm"];

/** What `/info` says about the engine's place in a swarm. */
export interface SwarmRole {
  /** "inactive" (no swarm), "manager", "worker", or Docker's own word for a swarm in trouble. */
  role: "inactive" | "manager" | "worker" | string;
  nodes: number;
  managers: number;
  clusterId: string;
  nodeId: string;
}

export function swarmRole(info: DockerInfo): SwarmRole {
  const s = info.Swarm ?? {};
  const state = s.LocalNodeState ?? "inactive";
  const role =
    state === "active"
      ? s.ControlAvailable
        ? "manager"
        : "worker"
      : state === "inactive" || state === ""
        ? "inactive"
        : state;
  return {
    role,
    nodes: s.Nodes ?? 0,
    managers: s.Managers ?? 0,
    clusterId: s.Cluster?.ID ?? "",
    nodeId: s.NodeID ?? "",
  };
}

/** Parses a target's name; E_USAGE naming the value and where it came from otherwise. */
export function parseTarget(value: string, from: string): Target {
  if ((targets as readonly string[]).includes(value)) return value as Target;
  throw new HlnError(
    "E_USAGE",
    `${from} ${JSON.stringify(value)}: expected one of ${targets.join(", ")}`,
  );
}

/**
 * The target a deploy goes to: the one asked for, else the swarm when the engine manages
 * one, else the engine itself. A swarm asked of an engine that cannot take it is an error
 * that says what the engine is.
 */
export function chooseTarget(
  info: DockerInfo,
  endpoint: string,
  requested: Target | undefined,
): Target {
  const { role } = swarmRole(info);
  if (requested === "docker") return "docker";
  if (role === "manager") return "swarm";
  // A manager that is locked or failing would otherwise get the app as containers, beside
  // its services once it recovers.
  if (role !== "worker" && role !== "inactive")
    throw new HlnError(
      "E_USAGE",
      `${endpoint}: its swarm is ${role}, so hln cannot tell where the app belongs`,
      role === "locked"
        ? {
            hint: "`docker swarm unlock` unlocks it",
            remedy: {
              settings: ["target"],
              value: "docker",
              lead: "or set",
              does: "to deploy to the engine alone",
            },
          }
        : {
            remedy: {
              settings: ["target"],
              value: "docker",
              does: "to deploy to the engine alone",
            },
          },
    );
  if (requested === "swarm")
    throw new HlnError(
      "E_USAGE",
      role === "worker"
        ? `${endpoint} is a swarm worker: only a manager takes services; point the Docker engine address at a manager`
        : role === "inactive"
          ? `${endpoint} is not part of a swarm, so the app cannot be deployed to a swarm there`
          : `${endpoint}: its swarm is ${role}, so the app cannot be deployed to a swarm there`,
      role === "inactive" ? { hint: "`docker swarm init` makes it a one-node swarm" } : {},
    );
  return "docker";
}

/** The target as `hln engine info` and the plan show it. */
export function describeTarget(info: DockerInfo): string {
  const r = swarmRole(info);
  if (r.role === "manager")
    return `swarm (this engine is a manager; ${r.nodes} node${r.nodes === 1 ? "" : "s"}, ${r.managers} manager${r.managers === 1 ? "" : "s"})`;
  if (r.role === "worker")
    return "docker (this engine is a swarm worker: deploy through a manager)";
  return "docker (a single engine)";
}
