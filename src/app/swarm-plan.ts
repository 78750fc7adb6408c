/**
 * The plan on a swarm: for each service, create, update (rolling, with its order and the
 * reasons), keep, or remove; the overlay network and the secrets to make; and what a
 * swarm does differently from one engine, said before anything changes.
 */
import { labels } from "./names.js";
import { inDependencyOrder } from "./plan.js";
import {
  changedParts,
  configHash,
  type DesiredService,
  readConfigParts,
} from "./service-config.js";
import type { ObservedService, ObservedSwarmApp } from "./swarm-observe.js";
import { secretsOf, swarmConfigParts, updateOrder } from "./swarm-spec.js";

export type SwarmStep =
  | { action: "create"; service: string; kind: "service" | "job"; reasons: string[] }
  | {
      action: "update";
      service: string;
      kind: "service" | "job";
      reasons: string[];
      order: "start-first" | "stop-first";
      /** Settings unchanged, but the swarm must run it again (a failed job, a paused update). */
      rerun: boolean;
      current: ObservedService;
    }
  | { action: "keep"; service: string; kind: "service" | "job"; current: ObservedService }
  | { action: "remove"; service: string; kind: "service" | "job"; current: ObservedService };

export interface SwarmPlan {
  target: "swarm";
  app: string;
  /** Each service after what it depends on (else as declared), then removals. */
  steps: SwarmStep[];
  createNetwork: boolean;
  /** Swarm secret names to make: new values, or secrets new to the app. */
  createSecrets: string[];
  /** What the swarm does differently from one engine, one line each. */
  notes: string[];
}

/** True when applying the plan changes nothing on the swarm. */
export function isSwarmNoop(plan: SwarmPlan): boolean {
  return (
    !plan.createNetwork &&
    plan.createSecrets.length === 0 &&
    plan.steps.every((s) => s.action === "keep")
  );
}

export function planSwarmApp(
  app: string,
  desired: readonly DesiredService[],
  observed: ObservedSwarmApp,
  o: { nodes: number; registry: boolean; mesh: boolean },
): SwarmPlan {
  const byService = new Map(observed.services.map((s) => [s.service, s]));
  const steps: SwarmStep[] = [];
  for (const d of inDependencyOrder(desired)) {
    const { name, kind } = d.spec;
    const parts = swarmConfigParts(d, o.mesh);
    const hash = configHash(parts);
    const current = byService.get(name);
    byService.delete(name);
    if (!current) {
      steps.push({ action: "create", service: name, kind, reasons: [`new ${kind}`] });
      continue;
    }
    const reasons = reasonsFor(current, hash, kind);
    if (reasons.length === 0) {
      steps.push({ action: "keep", service: name, kind, current });
      continue;
    }
    steps.push({
      action: "update",
      service: name,
      kind,
      reasons:
        reasons[0] === "config"
          ? changedParts(readConfigParts(current.labels[labels.config]), parts)
          : reasons,
      order: updateOrder(d, o.mesh),
      rerun: reasons[0] !== "config",
      current,
    });
  }
  for (const [service, current] of [...byService].sort(([a], [b]) => (a < b ? -1 : 1)))
    steps.push({ action: "remove", service, kind: current.kind, current });
  const existing = new Set(observed.secrets.map((s) => s.name));
  const createSecrets = [
    ...new Set(desired.flatMap((d) => secretsOf(app, d).map((s) => s.name))),
  ].filter((n) => !existing.has(n));
  return {
    target: "swarm",
    app,
    steps,
    createNetwork: observed.network === undefined && desired.length > 0,
    createSecrets: createSecrets.sort(),
    notes: notesFor(desired, o),
  };
}

/**
 * Why the service must be updated: "config" when its settings differ (the caller words
 * which), or what the swarm reports; none when it can stay.
 */
function reasonsFor(current: ObservedService, hash: string, kind: "service" | "job"): string[] {
  if (current.kind !== kind) return [`was a ${current.kind}, now a ${kind}`];
  if (current.configHash !== hash) return ["config"];
  if (current.updateState === "paused")
    return [`its last update paused${current.updateMessage ? `: ${current.updateMessage}` : ""}`];
  if (current.updateState === "rollback_paused")
    return [`its last rollback paused${current.updateMessage ? `: ${current.updateMessage}` : ""}`];
  if (kind === "job") {
    const completed = current.details.ServiceStatus?.CompletedTasks ?? 0;
    if (completed < 1) return ["its last run did not complete"];
  }
  return [];
}

/**
 * Services the swarm could never run as declared: without the routing mesh a service that
 * publishes a port runs at most one task per node, so more replicas than nodes would wait
 * for a node for ever. One line each; the caller refuses the deploy.
 */
export function unplaceable(
  desired: readonly DesiredService[],
  o: { nodes: number; mesh: boolean },
): string[] {
  if (o.mesh) return [];
  return desired
    .filter((d) => d.spec.kind === "service" && d.spec.ports.length > 0)
    .filter((d) => (d.spec.replicas ?? 1) > o.nodes)
    .map(
      (d) =>
        `service ${d.spec.name}: ${d.spec.replicas} replicas publish port ${d.spec.ports[0]!.host} without the routing mesh, which runs at most one such task per node, and the swarm has ${o.nodes} node${o.nodes === 1 ? "" : "s"}`,
    );
}

/** What works differently on a swarm, said in the plan so nobody learns it from an outage. */
function notesFor(
  desired: readonly DesiredService[],
  o: { nodes: number; registry: boolean; mesh: boolean },
): string[] {
  const notes: string[] = [];
  if (!o.registry)
    notes.push(
      "no registry: images stay on this node, so tasks run only here (name a registry every node reaches before adding nodes)",
    );
  for (const d of desired) {
    const s = d.spec;
    const local = s.ports.filter((p) => p.ip !== "0.0.0.0" && p.ip !== "::" && p.ip !== "");
    const shown = local.map((p) => `${p.ip}:${p.host}`).join(", ");
    if (local.length > 0)
      notes.push(
        o.mesh
          ? `${s.name}: port ${shown} is published on every address of every node (the swarm's routing mesh cannot bind one address)`
          : `${s.name}: port ${shown} is published on every address of the node that runs its task (a swarm cannot bind one address)`,
      );
    if (!o.mesh && s.ports.length > 0 && s.kind === "service")
      notes.push(
        `${s.name}: without the routing mesh it runs at most one task per node, and updates stop the old task first (the port is the node's)`,
      );
    const volumes = s.volumes.filter((v) => "volume" in v.source);
    if (volumes.length > 0 && o.nodes > 1 && (s.placement ?? []).length === 0)
      notes.push(
        `${s.name}: its volumes are local to whichever node runs its task; give it a placement constraint (placement: ["node.hostname==…"]) to keep its data on one node`,
      );
    if (s.volumes.some((v) => "hostPath" in v.source) && o.nodes > 1)
      notes.push(`${s.name}: its bind mounts name paths on whichever node runs its task`);
    if (
      s.kind === "service" &&
      volumes.length > 0 &&
      !s.update?.order &&
      (o.mesh || s.ports.length === 0)
    )
      notes.push(`${s.name}: updates stop the old task first (it mounts an app volume)`);
  }
  return notes;
}
