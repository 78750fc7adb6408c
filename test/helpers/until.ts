/**
 * Polls until a condition holds, for tests that wait on an engine. `ms` only keeps a broken
 * run from hanging; it is not a speed check.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves with `check`'s first value other than undefined; fails naming `what` after `ms`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 120_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`hung: still waiting until ${what} after ${ms / 1000} s`);
    await sleep(250);
  }
}
