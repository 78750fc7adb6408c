/**
 * Tables for a terminal: columns padded to their widest cell, every column but the last
 * cut to its `max`, and the last wrapped at word boundaries into what the width leaves.
 * Pure: rows in, text out.
 */

export interface TableColumn {
  header: string;
  /** Longest a cell of this column may be; longer ones end in "…". Ignored for the last column. */
  max?: number;
}

export interface TableOptions {
  /** The terminal's width in columns. */
  width: number;
  /** Put before every line, e.g. two spaces. */
  indent?: string;
  /** Fewest columns the last column wraps into, however narrow the terminal. Default 20. */
  minLast?: number;
}

/**
 * @example
 * formatTable([{ header: "NAME" }, { header: "DESCRIPTION" }], [["hello", "says hello"]], { width: 80 })
 * // "NAME   DESCRIPTION\nhello  says hello\n"
 */
export function formatTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
  options: TableOptions,
): string {
  const indent = options.indent ?? "";
  const last = columns.length - 1;
  const cells = [columns.map((c) => c.header), ...rows.map((r) => r.map(oneLine))];
  const widths = columns.map((c, i) =>
    i === last
      ? 0
      : Math.max(
          ...cells.map((r) => Math.min(r[i]?.length ?? 0, c.max ?? Number.POSITIVE_INFINITY)),
        ),
  );
  const before = indent.length + widths.slice(0, last).reduce((a, w) => a + w + 2, 0);
  const room = Math.max(options.minLast ?? 20, options.width - before);
  const pad = " ".repeat(before);
  const lines: string[] = [];
  for (const row of cells) {
    const lead = widths
      .slice(0, last)
      .map((w, i) => cut(row[i] ?? "", w).padEnd(w))
      .join("  ");
    const wrapped = wrap(row[last] ?? "", room);
    const head = `${indent}${lead}${last > 0 ? "  " : ""}${wrapped[0] ?? ""}`;
    lines.push(head.trimEnd(), ...wrapped.slice(1).map((l) => `${pad}${l}`));
  }
  return `${lines.join("\n")}\n`;
}

/** `text` cut to `n` characters, the last one "…" when anything was cut. */
export function cut(text: string, n: number): string {
  return text.length <= n ? text : `${text.slice(0, Math.max(0, n - 1))}…`;
}

/** `text` in lines of at most `width` characters, broken between words where it can be. */
export function wrap(text: string, width: number): string[] {
  const words = oneLine(text).split(" ").filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (let word of words) {
    while (word.length > width) {
      if (line) lines.push(line);
      lines.push(word.slice(0, width));
      word = word.slice(width);
      line = "";
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * A cell as one line: whitespace runs become one space, and control characters (a stack's
 * text could carry escape sequences) become U+FFFD, so a cell cannot redraw the terminal.
 */
export function oneLine(text: string): string {
  return (
    text
      .replace(/\s+/g, " ")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: those are what it replaces
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, "\ufffd")
      .trim()
  );
}
