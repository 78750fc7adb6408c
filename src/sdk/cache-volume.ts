/** A named cache that persists across runs, mounted into steps with `withMountedCache`. */
export class CacheVolume {
  /** @internal */
  constructor(readonly name: string) {}
}
