/** The pause between polls of an engine while waiting for something to happen there. */
import { HlnError } from "../errors.js";

/** Resolves after `ms`, or fails with E_ABORTED as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", stop);
      resolve();
    }
    function stop() {
      clearTimeout(timer);
      reject(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
    }
    signal?.addEventListener("abort", stop, { once: true });
  });
}
