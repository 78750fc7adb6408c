/**
 * The words `hln up` and `hln down` add while another hln holds the app's lock: the app
 * layer says who holds it; how to stop waiting, or not wait at all, is the CLI's to say.
 */

/** The line printed once while this run waits for the app's lock. */
export function lockWaitLine(message: string): string {
  return `${message} (Ctrl-C stops waiting; --no-wait fails at once instead)`;
}

/** How long a run waits for a live holder of the app's lock: for ever unless --no-wait. */
export function lockWaitMs(wait: boolean | undefined): number {
  return wait === false ? 0 : Number.POSITIVE_INFINITY;
}
