/**
 * What a run tells the user when the ledger answered some of its requests: they did not
 * run on the engine, and how to make them.
 */

/** `hln: 4 results from the ledger, unchanged since 04:31:07 (--no-ledger runs them on the engine)` */
export function ledgerLine(hits: number, since: number): string {
  const at = new Date(since);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  return `hln: ${hits} ${hits === 1 ? "result" : "results"} from the ledger, unchanged since ${time} (--no-ledger runs ${hits === 1 ? "it" : "them"} on the engine)`;
}

/** The `ledger` event of `--log-format json` (docs/progress-json.md). */
export function ledgerEvent(hits: number, since: number): string {
  return JSON.stringify({
    v: 1,
    type: "ledger",
    results: hits,
    since: new Date(since).toISOString(),
  });
}
