/**
 * The plan: what converging an app will do to each service, and why. It is computed from
 * what the stack declared and what the engine runs (read from labels), before anything
 * changes, so `--dry-run` can print exactly what a real run would do.
 */
import { labels } from "./names.js";
import type { ObservedApp, ObservedContainer } from "./observe.js";
import {
  type ConfigParts,
  changedParts,
  configHash,
  configParts,
  type DesiredService,
  readConfigParts,
} from "./service-config.js";

export type PlanStep =
  /** A service or job with no container yet. */
  | { action: "create"; service: string; kind: "service" | "job"; reasons: string[] }
  /** A container that no longer matches: replaced, the old one kept until the new one starts. */
  | {
      action: "recreate";
      service: string;
      kind: "service" | "job";
      reasons: string[];
      replaces: ObservedContainer[];
    }
  /** Nothing to do; `extra` are leftovers of an interrupted run, removed quietly. */
  | {
      action: "keep";
      service: string;
      kind: "service" | "job";
      container: ObservedContainer;
      extra: ObservedContainer[];
    }
  /** Declared no more: its containers go. */
  | {
      action: "remove";
      service: string;
      kind: "service" | "job";
      containers: ObservedContainer[];
    };

export interface Plan {
  app: string;
  /** Each service after what it depends on (else in the order declared), then removals. */
  steps: PlanStep[];
  createNetwork: boolean;
  /** App volume names that do not exist yet. */
  createVolumes: string[];
}

/** True when applying the plan changes nothing on the engine. */
export function isNoop(plan: Plan): boolean {
  return (
    !plan.createNetwork &&
    plan.createVolumes.length === 0 &&
    plan.steps.every((s) => s.action === "keep" && s.extra.length === 0)
  );
}

export function planApp(
  app: string,
  desired: readonly DesiredService[],
  observed: ObservedApp,
  volumes: readonly string[],
): Plan {
  const byService = new Map<string, ObservedContainer[]>();
  for (const c of observed.containers)
    byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  const steps: PlanStep[] = [];
  for (const d of inDependencyOrder(desired)) {
    const { name, kind } = d.spec;
    const parts = configParts(d);
    const hash = configHash(parts);
    const current = (byService.get(name) ?? []).sort(newestFirst);
    byService.delete(name);
    if (current.length === 0) {
      steps.push({ action: "create", service: name, kind, reasons: [`new ${kind}`] });
      continue;
    }
    const match = current.find((c) => c.configHash === hash && c.kind === kind && usable(c));
    if (match) {
      steps.push({
        action: "keep",
        service: name,
        kind,
        container: match,
        extra: current.filter((c) => c !== match),
      });
      continue;
    }
    steps.push({
      action: "recreate",
      service: name,
      kind,
      reasons: reasonsFor(current[0]!, hash, parts, kind),
      replaces: current,
    });
  }
  for (const [service, containers] of [...byService].sort(([a], [b]) => (a < b ? -1 : 1)))
    steps.push({
      action: "remove",
      service,
      kind: containers[0]?.kind ?? "service",
      containers,
    });
  const existing = new Set(observed.volumes.map((v) => v.volume));
  return {
    app,
    steps,
    // An app that declares nothing gets no network of its own.
    createNetwork: observed.network === undefined && desired.length > 0,
    createVolumes: volumes.filter((v) => !existing.has(v)),
  };
}

/**
 * Whether a container with the right settings can stay: a service that runs (its health
 * is for the gate to judge), or a job that finished with 0.
 */
function usable(c: ObservedContainer): boolean {
  if (c.kind === "job") return c.state === "exited" && c.exitCode === 0;
  // A restarting container is one that keeps dying: keeping it would call a crash loop done.
  return c.state === "running";
}

function reasonsFor(
  c: ObservedContainer,
  hash: string,
  parts: ConfigParts,
  kind: "service" | "job",
): string[] {
  if (c.configHash === hash && c.kind === kind) {
    if (kind === "job")
      return [
        c.state === "exited" ? `last run failed (exit ${c.exitCode ?? "?"})` : `job is ${c.state}`,
      ];
    return [
      c.state === "exited" ? `container exited (${c.exitCode ?? "?"})` : `container is ${c.state}`,
    ];
  }
  if (c.kind !== kind) return [`was a ${c.kind}, now a ${kind}`];
  return changedParts(readConfigParts(c.labels[labels.config]), parts);
}

/** The services with each one after those it depends on; otherwise as declared. */
export function inDependencyOrder(desired: readonly DesiredService[]): DesiredService[] {
  const byName = new Map(desired.map((d) => [d.spec.name, d]));
  const out: DesiredService[] = [];
  const seen = new Set<string>();
  const visit = (d: DesiredService) => {
    if (seen.has(d.spec.name)) return;
    seen.add(d.spec.name);
    for (const dep of d.spec.dependsOn) {
      const target = byName.get(dep.name);
      if (target) visit(target);
    }
    out.push(d);
  };
  for (const d of desired) visit(d);
  return out;
}

function newestFirst(a: ObservedContainer, b: ObservedContainer): number {
  return b.created - a.created;
}
