/**
 * A row of `hln list apps`, from what runs (labels) and the state file. Pure, and cheap:
 * no container is inspected, so listing stays one list call per kind and app.
 */
import { labels } from "./names.js";
import type { ObservedApp } from "./observe.js";
import type { AppState } from "./state-store.js";
import { currentContainers } from "./status.js";
import type { ObservedSwarmApp } from "./swarm-observe.js";

export interface AppListing {
  app: string;
  stack: string | null;
  version: string | null;
  /** Services (jobs aside) whose container runs, and all services. */
  services: { running: number; total: number };
  lastDeploy: { at: string; result: string } | null;
}

export function appListing(observed: ObservedApp, state: AppState | undefined): AppListing {
  const current = currentContainers(observed.containers).filter((c) => c.kind === "service");
  const running = current.filter((c) => c.state === "running").length;
  return listing(observed.app, current, running, state);
}

/**
 * The row of an app on a swarm: a service counts as running when all the tasks it wants
 * run (the manager's count, from the same list call that found it).
 */
export function swarmAppListing(
  observed: ObservedSwarmApp,
  state: AppState | undefined,
): AppListing {
  const services = observed.services.filter((s) => s.kind === "service");
  const running = services.filter((s) => s.replicas > 0 && s.running >= s.replicas).length;
  return listing(observed.app, services, running, state);
}

/**
 * The row from the services (jobs aside) the engine has, how many of them run, and the
 * state file, which adds the services it knows and names the stack.
 */
function listing(
  app: string,
  services: readonly { service: string; labels: Record<string, string> }[],
  running: number,
  state: AppState | undefined,
): AppListing {
  const names = new Set(services.map((s) => s.service));
  for (const [name, s] of Object.entries(state?.services ?? {}))
    if (s.kind === "service") names.add(name);
  // Without a state file (deployed from another machine) the label names the stack.
  const label = services.find((s) => s.labels[labels.stack])?.labels[labels.stack] ?? "";
  const at = label.lastIndexOf("@");
  const last = state?.history.at(-1);
  return {
    app,
    stack: state?.stack.name ?? (at > 0 ? label.slice(0, at) : null),
    version: state?.stack.version ?? (at > 0 ? label.slice(at + 1) : null),
    services: { running, total: names.size },
    lastDeploy: last ? { at: last.at, result: last.result } : null,
  };
}
