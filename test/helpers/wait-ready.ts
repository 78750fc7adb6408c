/**
 * Polls `GET url` until `ready(status)` holds, the server's process exits, or `limitMs`
 * pass (kill-safety for a service that never comes up, not a speed check).
 */
export async function waitReady(
  url: string,
  ready: (status: number) => boolean,
  exited: Promise<unknown>,
  limitMs: number,
  everyMs = 100,
): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + limitMs;
  while (!gone && Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (ready(res.status)) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
