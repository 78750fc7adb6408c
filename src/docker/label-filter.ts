/**
 * The `filters` query of Docker's list calls, for labels: an object matches when it has
 * every one of them (`k=v` for a value, `k` for the key with any value).
 */
export function labelQuery(labels: readonly string[] | undefined): string {
  if (!labels || labels.length === 0) return "";
  return `filters=${encodeURIComponent(JSON.stringify({ label: labels }))}`;
}
