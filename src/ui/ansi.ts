/**
 * The few ANSI sequences the tty renderer needs (ECMA-48 / xterm), and helpers to make
 * untrusted text (step names, log lines) safe to put in a frame: one line, no control codes,
 * at most N columns.
 */

const ESC = "\u001b[";

/** DECTCEM: hide the cursor while a live frame is on screen. */
export const CURSOR_HIDE = `${ESC}?25l`;
/** DECTCEM: show the cursor again. */
export const CURSOR_SHOW = `${ESC}?25h`;
/** EL 2: erase the whole current line. */
export const ERASE_LINE = `${ESC}2K`;
/** ED 0: erase from the cursor to the end of the screen. */
export const ERASE_DOWN = `${ESC}0J`;

/** CUU: move the cursor up `n` lines, then CR to column 0. Empty for n <= 0. */
export function cursorUp(n: number): string {
  return n > 0 ? `${ESC}${n}A\r` : "\r";
}

// CSI / OSC / other escape sequences, then remaining C0 and C1 controls (tab excluded).
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Removes escape sequences and control characters, and turns tabs into a space, so the text
 * occupies exactly one terminal line and cannot move the cursor or change colours.
 */
export function sanitizeLine(text: string): string {
  return text.replace(ESCAPES, "").replace(/\t/g, " ");
}

/**
 * Cuts `text` to at most `width` columns. Counts code points, one column each: wide CJK and
 * emoji are not measured (that would need `string-width`, see ecosystem.md A6).
 */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  const chars = Array.from(text);
  return chars.length <= width ? text : chars.slice(0, width).join("");
}

/** Visible width in columns, counted as {@link truncate} counts. */
export function visibleWidth(text: string): number {
  return Array.from(text).length;
}
