/**
 * Colour on or off, decided once per progress instance. picocolors' `createColors(enabled)`
 * gives formatters that return their input unchanged when disabled, so renderers never branch.
 */

import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

export function createColors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/**
 * Whether to colour: never when `NO_COLOR` is set to a non-empty value (https://no-color.org:
 * "when present and not an empty string"), otherwise only on a terminal.
 */
export function colorEnabled(
  env: Readonly<Record<string, string | undefined>>,
  isTTY: boolean,
): boolean {
  if (env.NO_COLOR) return false;
  return isTTY;
}
