/**
 * Go's `path.Clean` (lexical, slash-separated). The Go client cleans every FileOp path with it
 * (client/llb/fileop.go normalizePath, sourcePath), and the cleaned path is hashed, so ours
 * must agree. node:path's posix.normalize differs: it keeps a trailing slash and "" stays "".
 */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/**
 * An absolute FileOp path as the Go client writes it: cleaned and resolved against `/` (our
 * builders take no working directory; callers resolve relative paths first). With
 * `keepSlash`, a trailing "/" or "/." survives cleaning, because for a copy destination it
 * means "into this directory" (fileop.go normalizePath).
 */
export function absolutePath(p: string, keepSlash = false): string {
  let out = cleanPath(p);
  if (!out.startsWith("/")) out = cleanPath(`/${out}`);
  if (keepSlash) {
    if (p.endsWith("/") && !out.endsWith("/")) out += "/";
    else if (p.endsWith("/.")) out = `${out === "/" ? "" : out}/.`;
  }
  return out;
}
