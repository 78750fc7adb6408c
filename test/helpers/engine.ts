/**
 * Integration tests run against the real engine that `.ci/run` (or
 * `bash scripts/engine-up.sh` as root) starts. Without one they fail, loudly, with how to start it.
 */
import { randomBytes } from "node:crypto";
import type { SolveStatus, VertexUpdate } from "../../src/buildkit/solve-status.js";
import { type Engine, openEngine } from "../../src/engine/engine.js";

export async function requireEngine(): Promise<Engine> {
  try {
    return await openEngine();
  } catch (err) {
    throw new Error(
      `integration tests need a running engine: run \`bash scripts/engine-up.sh\` as root first (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** A value that makes a step's cache key new, so it really runs. */
export function nonce(): string {
  return randomBytes(6).toString("hex");
}

/** A vertex as the tests see it: merged across every update and solve. */
export interface SeenVertex extends VertexUpdate {
  /** Some update completed it without the cache: the step really ran. */
  ran: boolean;
}

/** Collects Status messages and merges vertex updates by digest, as a renderer would. */
export class StatusLog {
  readonly vertexes = new Map<string, SeenVertex>();
  readonly logs: string[] = [];
  readonly onStatus = (s: SolveStatus): void => {
    for (const v of s.vertexes) {
      const prev = this.vertexes.get(v.digest);
      this.vertexes.set(v.digest, {
        ...v,
        cached: v.cached || (prev?.cached ?? false),
        ran: (prev?.ran ?? false) || (v.completed !== undefined && !v.cached),
        started: prev?.started ?? v.started,
        completed: v.completed ?? prev?.completed,
      });
    }
    for (const l of s.logs) this.logs.push(Buffer.from(l.data).toString("utf8"));
  };

  byName(pattern: RegExp): SeenVertex[] {
    return [...this.vertexes.values()].filter((v) => pattern.test(v.name));
  }
}

/**
 * Removes images a test stored in the engine (pushing with the containerd store keeps a
 * local copy too), by reference; ones already gone are fine.
 */
export async function removeImages(engine: Engine, refs: readonly string[]): Promise<void> {
  for (const ref of refs)
    await engine.docker
      .json("DELETE", `/images/${encodeURIComponent(ref)}?force=1`)
      .catch(() => undefined);
}

/** Removes every image whose reference matches `pattern` (Docker's filter: `host:port/repo/*`). */
export async function removeImagesMatching(engine: Engine, pattern: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ reference: [pattern] }));
  const images = await engine.docker.json<{ RepoTags: string[] | null }[]>(
    "GET",
    `/images/json?filters=${filters}`,
  );
  await removeImages(
    engine,
    images.flatMap((i) => i.RepoTags ?? []),
  );
}
