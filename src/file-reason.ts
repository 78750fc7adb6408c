/** A file system error as a few words: "no such file", "permission denied". */
export function fileReason(err: unknown): string {
  const reasons: Record<string, string> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "is a directory, not a file",
    ENOTDIR: "a part of the path is not a directory",
  };
  const code = (err as NodeJS.ErrnoException).code;
  return (code && reasons[code]) ?? (err instanceof Error ? err.message : String(err));
}
