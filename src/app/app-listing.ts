/**
 * A row of `hln list apps`, from what runs (labels) and the state file. Pure, and cheap:
 * no container is inspected, so listing stays one list call per kind and app.
 */
import { labels } from "./names.js";
import type { ObservedApp } from "./observe.js";
import type { AppState } from "./state-store.js";
import { currentContainers } from "./status.js";

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
  const names = new Set(current.map((c) => c.service));
  for (const [name, s] of Object.entries(state?.services ?? {}))
    if (s.kind === "service") names.add(name);
  // Without a state file (deployed from another machine) the label names the stack.
  const label = current.find((c) => c.labels[labels.stack])?.labels[labels.stack] ?? "";
  const at = label.lastIndexOf("@");
  const last = state?.history.at(-1);
  return {
    app: observed.app,
    stack: state?.stack.name ?? (at > 0 ? label.slice(0, at) : null),
    version: state?.stack.version ?? (at > 0 ? label.slice(at + 1) : null),
    services: { running: current.filter((c) => c.state === "running").length, total: names.size },
    lastDeploy: last ? { at: last.at, result: last.result } : null,
  };
}
