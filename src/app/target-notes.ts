/**
 * What a deploy target does not honour of what the stack declared, said once per service
 * before anything changes, so nobody takes a single engine's one container for three
 * replicas.
 */
import type { DeclaredService } from "../stack/app-spec.js";

/**
 * One line per service or job that sets what a single Docker engine ignores: `replicas`
 * above 1, `update`, `placement`. Those are swarm settings; one engine runs one container
 * per service, replaces it in its own way and has no other node to place it on. Empty when
 * nothing is ignored.
 *
 * @example
 * singleEngineWarnings(spec.services);
 * // ["service api: replicas 2, update and placement are ignored on a single Docker engine
 * //   (it runs one container per service); they apply on a swarm"]
 */
export function singleEngineWarnings(services: readonly DeclaredService[]): string[] {
  const lines: string[] = [];
  for (const s of services) {
    const ignored: string[] = [];
    // replicas 1 is what a single engine does anyway: nothing is lost.
    if (s.replicas !== 1) ignored.push(`replicas ${s.replicas}`);
    if (s.update) ignored.push("update");
    if (s.placement.length > 0) ignored.push("placement");
    if (ignored.length === 0) continue;
    const last = ignored.pop()!;
    const named = ignored.length > 0 ? `${ignored.join(", ")} and ${last}` : last;
    const many = ignored.length > 0;
    lines.push(
      `${s.kind} ${s.name}: ${named} ${many ? "are" : "is"} ignored on a single Docker engine (it runs one container per service); ${many ? "they apply" : "it applies"} on a swarm`,
    );
  }
  return lines;
}
