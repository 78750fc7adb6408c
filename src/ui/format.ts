/**
 * Small text formatters shared by the progress renderers. Pure, no I/O.
 */

/**
 * Formats a duration for humans: tenths of a second below a minute (`0.4s`, `12.3s`, the
 * `%.1fs` of BuildKit's progressui), then `1m05s`, then `1h02m`. Negative or non-finite input
 * counts as zero.
 *
 * @example
 * formatDuration(420); // "0.4s"
 * formatDuration(65_000); // "1m05s"
 */
export function formatDuration(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  // Round to tenths first so 59.96s becomes "1m00s" rather than "60.0s".
  const tenths = Math.round(safe / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.round(safe / 1000);
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"] as const;

/**
 * Formats a byte count with decimal units and two decimals, as BuildKit's progressui does with
 * `fmt.Sprintf("%.2f", units.Bytes(n))` (github.com/tonistiigi/units: decimal units by default,
 * whole bytes below 1 kB).
 *
 * @example
 * formatBytes(1_234_567); // "1.23MB"
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1000) return `${Math.max(0, Math.round(n || 0))}B`;
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(2)}${BYTE_UNITS[unit]}`;
}

/**
 * Seconds since a step started, printed before each log line in plain mode. Same precision
 * rule as progressui's `trace.update`: three decimals below 10 s, two below 100 s, else one.
 */
export function formatLogOffset(ms: number): string {
  const sec = Math.max(0, ms) / 1000;
  const precision = sec < 10 ? 3 : sec < 100 ? 2 : 1;
  return sec.toFixed(precision);
}
