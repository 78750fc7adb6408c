import { mkdtemp, rm } from "node:fs/promises";
import { basename, dirname, join, posix, resolve } from "node:path";
import { destinationError } from "../buildkit/fsutil/install-tree.js";
import { HlnError } from "../errors.js";
import { fileOp, type Output } from "../llb/index.js";
import { placeExportedFile, prepareFileDestination } from "./export-destination.js";
import type { Solver } from "./solver.js";

/**
 * A file in a build result. Lazy: nothing runs until its contents are asked for.
 *
 * @example
 * const release = await dag.container().from("debian:bookworm-slim")
 *   .file("/etc/os-release")
 *   .contents();
 */
export class File {
  /** @internal */
  constructor(
    /** @internal */
    readonly solver: Solver,
    /** @internal The result that holds the file; null is an empty filesystem. */
    readonly output: Output | null,
    /** @internal Absolute path of the file inside that result. */
    readonly path: string,
  ) {}

  /** Builds what the file comes from and returns its contents as UTF-8 text. */
  async contents(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  /** Builds what the file comes from and returns its raw bytes. */
  async bytes(): Promise<Uint8Array> {
    if (!this.output) throw new HlnError("E_USAGE", `file ${this.path}: the filesystem is empty`);
    return this.solver.readFile(this.output, this.path);
  }

  /**
   * Builds the file and writes it to `path` on this machine. Missing parent directories
   * are created (as Dagger does); a symlink at `path` is followed and stays a symlink; a
   * directory at `path` is refused. The previous file stays in place until the new one has
   * fully arrived. Resolves with the absolute path written.
   */
  export(path: string): Promise<string> {
    return this.solver.track(this.#exportNow(path));
  }

  async #exportNow(path: string): Promise<string> {
    if (!this.output) throw new HlnError("E_USAGE", `file ${this.path}: the filesystem is empty`);
    const dest = resolve(path);
    const target = await prepareFileDestination(path);
    const name = posix.basename(this.path);
    const single = fileOp({
      base: null,
      actions: [
        {
          kind: "copy",
          src: this.output,
          srcPath: this.path,
          destPath: `/${name}`,
          followSymlink: true,
        },
      ],
      customName: `select ${this.path}`,
    });
    const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.hln-`)).catch(
      (err) => {
        throw destinationError(err, path, `cannot write in ${dirname(target)}`);
      },
    );
    try {
      await this.solver.exportTo(
        single,
        { type: "local" },
        { target: { kind: "directory", path: staging } },
      );
      await placeExportedFile({ staging, name, target, source: this.path, shown: path });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return dest;
  }

  /** Builds what the file comes from. */
  async sync(): Promise<this> {
    if (this.output) await this.solver.sync(this.output);
    return this;
  }
}
