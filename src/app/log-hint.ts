/**
 * A failed container's or task's last log lines as the hint under its error, the same
 * whether one engine ran it or a swarm did.
 */

/** How many of the last lines a hint shows. */
export const hintLines = 15;

/**
 * "its last lines:" and each line of `log` (asked for with a tail of `hintLines`) under
 * it, indented; or that it printed nothing, or that its log could not be read.
 */
export async function logHint(log: AsyncIterable<{ text: string }>): Promise<string> {
  const lines: string[] = [];
  try {
    for await (const l of log) lines.push(l.text);
  } catch {
    return "its log could not be read";
  }
  if (lines.length === 0) return "it printed nothing";
  return `its last lines:\n${lines.map((l) => `  | ${l}`).join("\n")}`;
}
