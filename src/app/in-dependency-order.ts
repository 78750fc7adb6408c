/**
 * Applies each service's step as soon as what it depends on is done, so independent
 * services apply at the same time; used by converge on one engine and on a swarm.
 */
import { HlnError, throwIfAborted } from "../errors.js";
import type { DesiredService } from "./service-config.js";

/**
 * Runs `apply` for every step but removals, each after the steps of the services it
 * depends on. A failure stops its dependents; the failure thrown is a service's own
 * rather than the "cancelled" its dependents saw.
 */
export async function applyInDependencyOrder<S extends { service: string; action: string }>(
  steps: readonly S[],
  desired: readonly DesiredService[],
  apply: (step: S, d: DesiredService) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const byName = new Map(desired.map((d) => [d.spec.name, d]));
  const done = new Map<string, Promise<void>>();
  const failures: unknown[] = [];
  const run = (step: S): Promise<void> => {
    const existing = done.get(step.service);
    if (existing) return existing;
    const d = byName.get(step.service);
    if (!d) return Promise.resolve();
    const p = (async () => {
      await Promise.all(
        d.spec.dependsOn.map(async (dep) => {
          const depStep = steps.find((s) => s.service === dep.name);
          if (depStep) await run(depStep);
        }),
      );
      throwIfAborted(signal);
      await apply(step, d);
    })();
    p.catch((err) => failures.push(err));
    done.set(step.service, p);
    return p;
  };
  await Promise.allSettled(steps.filter((s) => s.action !== "remove").map(run));
  if (failures.length > 0)
    throw failures.find((f) => !(f instanceof HlnError) || f.code !== "E_ABORTED") ?? failures[0];
}
