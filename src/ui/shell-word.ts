/**
 * `text` as a POSIX shell takes it as one word, quoted only when it has to be, for
 * commands hln suggests (`hln do up --dir 'My Stack'`).
 *
 * @example
 * shellWord("./shop") // "./shop"
 * shellWord("it's here") // "'it'\''s here'"
 */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
