import { HlnError, shownSetting } from "./errors.js";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Reads durations like `500ms`, `90s`, `30m`, `24h`, `7d`, `1h30m` as milliseconds, or
 * `undefined` when `text` is not one. Callers decide what a bad one means: a usage error
 * for a flag, an invalid stack for a health check.
 */
export function durationMs(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  return text === "" || matched !== text.length ? undefined : total;
}

/**
 * Parses a duration given as a flag or a variable into milliseconds. `flag` names where
 * the text came from in errors: a flag (`--keep-duration`) or a variable.
 */
export function parseDuration(text: string, flag: string): number {
  const ms = durationMs(text);
  if (ms === undefined)
    throw new HlnError(
      "E_USAGE",
      `${shownSetting(flag, text)}: expected a duration such as 30m, 24h or 7d`,
    );
  return ms;
}
