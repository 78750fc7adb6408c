import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { HlnError } from "../errors.js";
import type { CopyFilter } from "./directory.js";
import { Directory } from "./directory.js";
import type { File } from "./file.js";
import { hostLocalSource, registerHostSource } from "./host-source.js";
import { checkedIgnoreFile, checkPatterns } from "./ignore-file.js";
import type { Solver } from "./solver.js";

/** Ignore files read at a host directory's root, first found wins. */
export const ignoreFiles = [".hlnignore", ".dockerignore"] as const;

function readIgnoreFile(root: string): string[] {
  for (const name of ignoreFiles) {
    let text: string;
    try {
      text = readFileSync(join(root, name), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new HlnError("E_INPUT_INVALID", `${join(root, name)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return checkedIgnoreFile(join(root, name), text);
  }
  return [];
}

/** A pattern that matches exactly `name`, glob characters included. */
function literal(name: string): string {
  return name.replace(/[\\*?[\]]/g, "\\$&");
}

/**
 * Files and directories on the machine running hln, sent to the engine on demand.
 *
 * @example
 * const src = dag.host().directory(".", { exclude: ["node_modules"] });
 * const lock = dag.host().file("package-lock.json");
 */
export class Host {
  /** @internal */
  constructor(
    /** @internal */
    private readonly solver: Solver,
  ) {}

  /**
   * A directory on this machine. `.hlnignore` at its root (or `.dockerignore` when there is
   * none) excludes paths with .dockerignore syntax; `exclude` adds patterns and `include`
   * keeps only what matches. Only files that changed since the last run travel again.
   *
   * @example
   * const src = dag.host().directory(".", { exclude: ["node_modules"] });
   */
  directory(path: string, filter: CopyFilter = {}): Directory {
    const root = resolve(path);
    let st: import("node:fs").Stats;
    try {
      st = statSync(root);
    } catch {
      throw new HlnError("E_INPUT_INVALID", `host directory ${path}: no such directory`);
    }
    if (!st.isDirectory())
      throw new HlnError("E_INPUT_INVALID", `host directory ${path}: not a directory`);
    checkPatterns(`host directory ${path}`, "include", filter.include);
    checkPatterns(`host directory ${path}`, "exclude", filter.exclude);
    const exclude = [...readIgnoreFile(root), ...(filter.exclude ?? [])];
    return this.#source(
      root,
      { includePatterns: filter.include, excludePatterns: exclude },
      `host ${path}`,
      filter,
    );
  }

  /** A file on this machine. */
  file(path: string): File {
    const abs = resolve(path);
    let st: import("node:fs").Stats;
    try {
      st = statSync(abs);
    } catch {
      throw new HlnError("E_INPUT_INVALID", `host file ${path}: no such file`);
    }
    if (st.isDirectory())
      throw new HlnError("E_INPUT_INVALID", `host file ${path}: is a directory`);
    const dir = this.#source(
      dirname(abs),
      { includePatterns: [literal(basename(abs))] },
      `host ${path}`,
    );
    return dir.file(basename(abs));
  }

  #source(
    root: string,
    filter: { includePatterns?: string[]; excludePatterns?: string[] },
    name: string,
    /** For a whole directory: the caller's own filter, beside its ignore file. */
    own?: CopyFilter,
  ): Directory {
    // One local name per host path: BuildKit keeps what it received under this name (plus
    // the session's shared key), so the next run sends only what changed.
    const id = createHash("sha256").update(root).digest("hex").slice(0, 16);
    const localName = `host-${id}`;
    this.solver.hostDirectories.set(localName, root);
    const output = hostLocalSource({ localName, root }, filter, name);
    if (own) registerHostSource(output, { localName, root, own, name });
    return new Directory(this.solver, output);
  }
}
