/**
 * A Solver that knows which of its requests are still running, so that the end of a run
 * can wait for work the stack started and did not await (`void c.stdout()`, a publish
 * left floating) instead of closing the session under it. Node itself runs an unawaited
 * request to its end before a script exits; a stack's run does the same.
 */
import type { Output } from "../llb/index.js";
import { Solver } from "./solver.js";

export class TrackedSolver extends Solver {
  readonly #pending = new Set<Promise<unknown>>();

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    // Only observes: the caller still gets (and must handle) the rejection.
    p.then(done, done);
    return p;
  }

  /**
   * Waits until no request is running, including ones started while waiting. Returns how
   * many were running when it was called.
   */
  async settle(): Promise<number> {
    const count = this.#pending.size;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    return count;
  }

  override track<T>(work: Promise<T>): Promise<T> {
    return this.#track(work);
  }

  override sync(output: Output): Promise<void> {
    return this.#track(super.sync(output));
  }

  override readFile(output: Output, path: string): Promise<Uint8Array> {
    return this.#track(super.readFile(output, path));
  }
}
