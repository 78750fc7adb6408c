import { HlnError } from "../errors.js";
import type { Output } from "../llb/index.js";
import type { Solver } from "./solver.js";

/** A file in a build result. Lazy: nothing runs until its contents are asked for. */
export class File {
  /** @internal */
  constructor(
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

  /** Builds what the file comes from. */
  async sync(): Promise<this> {
    if (this.output) await this.solver.sync(this.output);
    return this;
  }
}
