/**
 * How `hln up` shows what it will do and what it did: the plan before anything changes,
 * one symbol and reason per service, and at the end each service's address and the
 * app's outputs.
 */

import { stringify } from "yaml";
import type { Plan, PlanStep } from "../app/plan.js";
import type { SwarmPlan, SwarmStep } from "../app/swarm-plan.js";
import type { UpResult } from "../app/up.js";

const symbols: Record<PlanStep["action"] | SwarmStep["action"], string> = {
  create: "+",
  recreate: "~",
  update: "~",
  keep: "=",
  remove: "-",
};

function describe(step: PlanStep | SwarmStep): string {
  switch (step.action) {
    case "update":
      return step.kind === "job"
        ? `run again (${step.reasons.join(", ")})`
        : `update ${step.order} (${step.reasons.join(", ")})`;
    case "create":
      return step.kind === "job" ? "run (new job)" : "create (new service)";
    case "recreate":
      return `${step.kind === "job" ? "run again" : "recreate"} (${step.reasons.join(", ")})`;
    case "keep":
      return step.kind === "job" ? "keep (completed, unchanged)" : "keep (unchanged)";
    case "remove":
      return "remove (no longer declared)";
  }
}

/** The plan as lines for a person, e.g. `  ~ api   recreate (image changed)`. */
export function formatPlan(
  plan: Plan | SwarmPlan,
  where: { stack: string; endpoint: string },
): string {
  const width = Math.max(0, ...plan.steps.map((s) => s.service.length));
  const swarm = "target" in plan;
  const lines = [
    `plan for app ${plan.app} (stack ${where.stack}) on ${swarm ? "the swarm managed by " : ""}${where.endpoint}:`,
  ];
  if (plan.createNetwork)
    lines.push(`  + network hln-${plan.app}${swarm ? " (overlay, every node)" : ""}`);
  if (swarm) for (const name of plan.createSecrets) lines.push(`  + secret ${name}`);
  else for (const v of plan.createVolumes) lines.push(`  + volume hln-${plan.app}-${v}`);
  for (const step of plan.steps)
    lines.push(`  ${symbols[step.action]} ${step.service.padEnd(width)}  ${describe(step)}`);
  if (plan.steps.length === 0) lines.push("  (the stack declares no services)");
  if (swarm) for (const note of plan.notes) lines.push(`  note: ${note}`);
  return `${lines.join("\n")}\n`;
}

/** The end of `hln up`: what changed, where each service answers, and the outputs. */
export function formatUpResult(result: UpResult): string {
  const lines: string[] = [];
  const services = result.addresses.filter((a) => a.kind === "service").length;
  const jobs = result.addresses.length - services;
  const counted = `${services} service${services === 1 ? "" : "s"}${jobs > 0 ? `, ${jobs} job${jobs === 1 ? "" : "s"}` : ""}`;
  if (result.dryRun)
    lines.push(
      `dry run: app ${result.app} ${result.unchanged ? "is up to date" : "would change as planned"}; nothing was changed`,
    );
  else
    lines.push(
      result.unchanged
        ? `app ${result.app} is up to date (${counted}; nothing changed)`
        : `app ${result.app} is up (${counted}; ${result.changes.length} change${result.changes.length === 1 ? "" : "s"})`,
    );
  const width = Math.max(0, ...result.addresses.map((a) => a.service.length));
  for (const a of result.addresses) {
    if (a.kind === "job") continue;
    const where =
      a.published.length > 0
        ? a.published.join(", ")
        : `${a.hostname} on network hln-${result.app}`;
    lines.push(`  ${a.service.padEnd(width)}  ${where}`);
  }
  if (result.outputs !== undefined && result.outputs !== null) {
    lines.push("outputs:");
    const text = stringify(result.outputs).trimEnd();
    for (const l of text.split("\n")) lines.push(`  ${l}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The plan as one `--log-format json` event (docs/progress-json.md): each step's service,
 * kind, action and reasons, in the order they apply.
 */
export function planEvent(plan: Plan | SwarmPlan, stack: string, endpoint: string): string {
  const swarm = "target" in plan;
  return JSON.stringify({
    v: 1,
    type: "plan",
    app: plan.app,
    stack,
    endpoint,
    target: swarm ? "swarm" : "docker",
    network: plan.createNetwork ? `hln-${plan.app}` : null,
    volumes: swarm ? [] : plan.createVolumes.map((v) => `hln-${plan.app}-${v}`),
    ...(swarm ? { secrets: plan.createSecrets, notes: plan.notes } : {}),
    steps: plan.steps.map((s) => ({
      service: s.service,
      kind: s.kind,
      action: s.action,
      reasons:
        s.action === "recreate" || s.action === "update"
          ? s.reasons
          : s.action === "create"
            ? [`new ${s.kind}`]
            : [],
      ...(s.action === "update" ? { order: s.order } : {}),
    })),
  });
}

/** One thing converge did, as a `--log-format json` event. */
export function deployEvent(service: string, message: string, at: number): string {
  return JSON.stringify({
    v: 1,
    type: "deploy",
    service,
    message,
    time: new Date(at).toISOString(),
  });
}
