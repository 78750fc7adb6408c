/**
 * A named cache that persists across runs, mounted into steps with `withMountedCache`.
 *
 * @example
 * const deps = dag.container().from("node:22-slim")
 *   .withMountedCache("/root/.npm", dag.cacheVolume("npm"))
 *   .withExec(["npm", "ci"]);
 */
export class CacheVolume {
  /** @internal */
  constructor(readonly name: string) {}
}
