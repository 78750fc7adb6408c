/**
 * Ignore files and filter patterns, checked when a stack names them: a bad pattern would
 * otherwise fail the transfer in the middle of the build ("error from sender: invalid
 * exclude patterns"), naming neither the file nor the line.
 */
import { createPatternMatcher, parseIgnoreFile } from "../buildkit/fsutil/pattern-matcher.js";
import { HlnError } from "../errors.js";

/** The patterns of the ignore file `file` holding `text`; a bad one is named by its line. */
export function checkedIgnoreFile(file: string, text: string): string[] {
  const patterns = parseIgnoreFile(text);
  try {
    createPatternMatcher(patterns);
  } catch (err) {
    const lines = text.split("\n");
    const at = lines.findIndex((line) => {
      try {
        createPatternMatcher(parseIgnoreFile(line));
        return false;
      } catch {
        return true;
      }
    });
    const reason = err instanceof Error ? err.message : String(err);
    throw new HlnError("E_INPUT_INVALID", `${file}${at < 0 ? "" : `:${at + 1}`}: ${reason}`, {
      cause: err,
    });
  }
  return patterns;
}

/** Checks the patterns a stack passed, naming the option and the index of a bad one. */
export function checkPatterns(
  where: string,
  option: string,
  patterns: readonly string[] = [],
): void {
  patterns.forEach((p, i) => {
    try {
      createPatternMatcher([p]);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new HlnError("E_INPUT_INVALID", `${where}: ${option}[${i}]: ${reason}`, { cause: err });
    }
  });
}
