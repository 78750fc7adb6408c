/**
 * The `api  | ` before each log line of `hln logs`: names padded to the longest, so the
 * lines start in one column, and one colour per service on a terminal (none under
 * NO_COLOR or into a pipe), the way `docker compose logs` tells services apart.
 */
import { type Colors, colorEnabled, createColors } from "./colors.js";

type Paint = (text: string) => string;

/** Colours that read on dark and light terminals alike, handed out in service order. */
function palette(c: Colors): Paint[] {
  return [c.cyan, c.yellow, c.green, c.magenta, c.blue, c.red];
}

/**
 * @example
 * const prefix = servicePrefixes(["api", "db"], { color: false });
 * prefix("db"); // "db  | "
 */
export function servicePrefixes(
  services: readonly string[],
  options: { color: boolean },
): (service: string) => string {
  const width = Math.max(0, ...services.map((s) => s.length));
  const colors = createColors(options.color);
  const paints = palette(colors);
  const sorted = [...new Set(services)].sort();
  return (service) => {
    const i = sorted.indexOf(service);
    const paint = paints[(i < 0 ? sorted.length : i) % paints.length]!;
    return `${paint(service.padEnd(width))} | `;
  };
}

/** Colour for an output stream: on a terminal unless NO_COLOR says otherwise. */
export function wantsColor(
  env: Readonly<Record<string, string | undefined>>,
  stream: { isTTY?: boolean },
): boolean {
  return colorEnabled(env, stream.isTTY === true);
}
