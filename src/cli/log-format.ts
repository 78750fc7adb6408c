/** `--log-format` (or HLN_LOG_FORMAT): how build progress is shown. */
import { HlnError, shownSetting } from "../errors.js";

export type LogFormat = "auto" | "tty" | "plain" | "json" | "quiet";

/** `from` is where the value came from: the flag, or HLN_LOG_FORMAT. */
export function parseLogFormat(value: string, from = "--log-format"): LogFormat {
  if (["auto", "tty", "plain", "json", "quiet"].includes(value)) return value as LogFormat;
  throw new HlnError(
    "E_USAGE",
    `${shownSetting(from, value)}: expected auto, tty, plain, json or quiet`,
  );
}
