/**
 * What a sender of a `local` export may say, checked before anything is written (fsutil
 * validator.go and hardlinks.go): every path clean and relative, its parent announced as a
 * directory earlier, names strictly increasing within a directory, and hardlinks only to
 * regular files received before. Together these mean no path can lead through a symlink the
 * stream made, no name comes twice, and no link reaches outside what was received.
 */
import { protocolError } from "./packet-io.js";
import { cleanPath, compareBytewise, compareWirePaths } from "./wire-path.js";

/**
 * fsutil's order validator: clean relative paths, parents announced as directories first,
 * names strictly increasing within a directory.
 */
export class OrderValidator {
  private readonly parents: { dir: string; last: string }[] = [{ dir: "", last: "" }];

  /** Throws an `E_ENGINE_PROTOCOL` HlnError when `path` may not come next. */
  check(path: string, isDir: boolean): void {
    const shown = JSON.stringify(path);
    if (path === "" || path === "." || path.includes("\0") || cleanPath(path) !== path) {
      throw protocolError(`refusing to write ${shown}: not a clean relative path`);
    }
    if (path.startsWith("/")) throw protocolError(`refusing to write ${shown}: absolute path`);
    if (path === ".." || path.startsWith("../")) {
      throw protocolError(`refusing to write ${shown}: it leaves the destination`);
    }
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "" : path.slice(0, slash);
    const base = path.slice(slash + 1);
    // The records form a chain of ancestors; drop those this path is no longer inside.
    while (this.parents.length > 1 && compareWirePaths(this.parents.at(-1)!.dir, dir) > 0) {
      this.parents.pop();
    }
    const top = this.parents.at(-1)!;
    if (top.dir !== dir || compareBytewise(top.last, base) >= 0) {
      const previous = top.dir === "" ? top.last : `${top.dir}/${top.last}`;
      throw protocolError(
        `changes out of order: ${shown} after ${JSON.stringify(previous)}` +
          (top.dir !== dir
            ? ` (its parent ${JSON.stringify(dir)} was not sent as a directory)`
            : ""),
      );
    }
    top.last = base;
    if (isDir) this.parents.push({ dir: path, last: "" });
  }
}

/**
 * The regular files received so far, the only things a hardlink may point at: not a symlink
 * (which could lead out), not a directory, not a path outside or not sent yet.
 */
export class HardlinkValidator {
  private readonly files = new Set<string>();

  /** Records a regular file whose contents are received. */
  addFile(path: string): void {
    this.files.add(path);
  }

  /** Throws an `E_ENGINE_PROTOCOL` HlnError when `path` may not link to `target`. */
  check(path: string, target: string): void {
    if (!this.files.has(target)) {
      throw protocolError(
        `invalid hardlink ${JSON.stringify(path)} to unknown path ${JSON.stringify(target)}`,
      );
    }
  }
}
