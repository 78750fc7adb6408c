import { join } from "node:path";

/** `~` and `~/x` as a shell reads them, for paths a user typed; `~user` is left alone. */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  return path.startsWith("~/") ? join(home, path.slice(2)) : path;
}
