/**
 * Polls a URL at a steady pace while a test changes what serves it (a rolling update, a
 * rollback), and counts the answers: the figure that says whether users would have seen
 * an error. Each request is its own connection, as separate users' would be.
 */
import { request } from "node:http";

export interface PollResult {
  ok: number;
  failed: number;
  total: number;
  /** The longest a request took, answered or not, in ms. */
  slowestMs: number;
  /** The first few failures: `+MS ms: REASON`, MS counted from the start. */
  failures: string[];
}

export interface Poller {
  /** Stops polling, waits for the request in flight, and returns the counts. */
  stop(): Promise<PollResult>;
}

export interface PollOptions {
  /** Time from the start of one request to the start of the next (default 100). */
  everyMs?: number;
  /** A request without a complete answer after this long fails (default 2000). */
  timeoutMs?: number;
  /** How many failures to keep the reasons of (default 10). */
  keep?: number;
  /** Called with each 2xx answer's body, e.g. to collect which task answered. */
  onBody?: (body: string) => void;
}

/** One GET: resolves with undefined on a 2xx answer, else with why it failed. */
function get(url: string, timeoutMs: number, onBody?: (body: string) => void) {
  return new Promise<string | undefined>((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status <= 299) {
          onBody?.(body);
          resolve(undefined);
        } else resolve(`HTTP ${status} ${body.trim().slice(0, 120)}`);
      });
      res.on("error", (err) => resolve(err.message));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) =>
      resolve(`${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}`.trim()),
    );
    req.end();
  });
}

/**
 * Starts polling `url` with GET every `everyMs` until `stop()`.
 *
 * @example
 * const p = startPoller(`http://127.0.0.1:${port}/`, { everyMs: 100 });
 * await rollTheService();
 * const { failed, total } = await p.stop(); // failed === 0
 */
export function startPoller(url: string, options: PollOptions = {}): Poller {
  const everyMs = options.everyMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 2000;
  const keep = options.keep ?? 10;
  const started = performance.now();
  const result: PollResult = { ok: 0, failed: 0, total: 0, slowestMs: 0, failures: [] };
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const at = performance.now();
      const why = await get(url, timeoutMs, options.onBody);
      result.total++;
      result.slowestMs = Math.max(result.slowestMs, Math.round(performance.now() - at));
      if (why === undefined) result.ok++;
      else {
        result.failed++;
        if (result.failures.length < keep)
          result.failures.push(`+${Math.round(at - started)} ms: ${why}`);
      }
      const wait = everyMs - (performance.now() - at);
      if (wait > 0 && !stopping) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  let stopped: Promise<PollResult> | undefined;
  return {
    stop() {
      stopping = true;
      stopped ??= loop.then(() => ({ ...result, failures: [...result.failures] }));
      return stopped;
    },
  };
}
