/** Translates Node file system errors into HlnErrors, in one place. */
import { HlnError, isAbortError } from "../../errors.js";

/** The errno code (`ENOENT`...) of a Node system error, if it is one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  const code = errnoCode(err);
  return code === "ENOENT" || code === "ENOTDIR";
}

export function isPermissionDenied(err: unknown): boolean {
  const code = errnoCode(err);
  return code === "EACCES" || code === "EPERM";
}

// Conditions the user can fix (a missing path, permissions, a full or read-only disk).
const USER_FIXABLE = new Set([
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EACCES",
  "EPERM",
  "EEXIST",
  "ENOTEMPTY",
  "ELOOP",
  "ENAMETOOLONG",
  "ENOSPC",
  "EDQUOT",
  "EROFS",
  "EXDEV",
  "EMFILE",
  "ENFILE",
]);

/** Wraps a file system failure as an HlnError whose message starts with `what`. */
export function fsError(err: unknown, what: string): HlnError {
  if (err instanceof HlnError) return err;
  if (isAbortError(err)) return new HlnError("E_ABORTED", "cancelled", { cause: err });
  const code = errnoCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new HlnError(
    code !== undefined && USER_FIXABLE.has(code) ? "E_USAGE" : "E_INTERNAL",
    `${what}: ${detail}`,
    { cause: err },
  );
}

/**
 * The system's reason alone ("read-only file system"), without Node's syscall and path, for
 * messages that name the user's own path instead of a temporary one.
 */
export function fsReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /^E[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

/** A failure to write the entry `path` of a received export into the staging tree. */
export function writeError(err: unknown, path: string): HlnError {
  // EEXIST, ELOOP: a name that collides with an earlier one (case-insensitive file systems)
  // or a symlink in the way. Either way the stream asked for something we will not do.
  const code = errnoCode(err);
  if (code === "EEXIST" || code === "ELOOP") {
    return new HlnError(
      "E_ENGINE_PROTOCOL",
      `refusing to write ${JSON.stringify(path)}: it collides with an earlier entry`,
      { cause: err },
    );
  }
  return fsError(err, `cannot write ${JSON.stringify(path)} of the export`);
}
