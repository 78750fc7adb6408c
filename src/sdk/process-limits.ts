/**
 * What the kernel refuses at exec time, checked while the graph is built: otherwise the
 * step fails on the engine (E2BIG, EINVAL) with an error that names hln's shim, not the
 * stack's call. Linux takes at most MAX_ARG_STRLEN (32 pages: 131072 bytes, the NUL
 * included) per argument or `NAME=value` string (include/uapi/linux/binfmts.h), and a C
 * string ends at the first NUL byte.
 */
import { HlnError } from "../errors.js";

const maxStringBytes = 131_072;

/** Throws E_USAGE naming `call` when `value` cannot reach a process as one string. */
export function assertProcessString(call: string, what: string, value: string): void {
  if (value.includes("\0"))
    throw new HlnError(
      "E_USAGE",
      `${call}: ${what} contains a NUL byte, which no process can receive`,
    );
  const bytes = Buffer.byteLength(value) + 1;
  if (bytes > maxStringBytes)
    throw new HlnError(
      "E_USAGE",
      `${call}: ${what} is ${bytes} bytes; Linux passes at most ${maxStringBytes} bytes per argument or variable to a process`,
      { hint: "put large values in a file (withNewFile) and read it in the step" },
    );
}
