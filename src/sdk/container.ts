import { HlnError } from "../errors.js";
import {
  exec,
  fileOp,
  imageSource,
  type MountSpec,
  type Output,
  type Platform,
} from "../llb/index.js";
import type { CacheVolume } from "./cache-volume.js";
import { type CopyFilter, copyDirectory, copyFile, Directory } from "./directory.js";
import { captureArgs, captureDir, capturedFile, captureMount } from "./exec-capture.js";
import { File } from "./file.js";
import { resolvePath } from "./paths.js";
import type { Solver } from "./solver.js";

export interface ExecOptions {
  /**
   * Capture stdout and stderr so `stdout()`/`stderr()` can return them, cached runs
   * included. Needs `sh`, `tee` and `mkfifo` in the image. Defaults to true.
   */
  capture?: boolean;
  /** Network for the step: `sandbox` (default, outbound through the engine's bridge) or `none`. */
  network?: "sandbox" | "none";
  /** Exit codes that count as success. Defaults to `[0]`. */
  validExitCodes?: number[];
  /** Run even when an identical step is cached. */
  noCache?: boolean;
}

interface ContainerState {
  readonly platform: Platform;
  readonly rootfs: Output | null;
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly workdir: string;
  readonly user: string | undefined;
  readonly mounts: readonly MountSpec[];
  readonly lastExec: { args: readonly string[]; out: Output | undefined } | undefined;
}

/**
 * A container: a root filesystem plus the settings its next steps run with. Immutable
 * and lazy, like Dagger's: every `with*` returns a new Container, and nothing runs until
 * a result (`stdout()`, `sync()`, a file's contents) is asked for.
 *
 * @example
 * const out = await dag.container().from("debian:bookworm-slim")
 *   .withExec(["sh", "-c", "echo hello"])
 *   .stdout();
 */
export class Container {
  /** @internal */
  constructor(
    readonly solver: Solver,
    private readonly state: ContainerState,
  ) {}

  #with(patch: Partial<ContainerState>): Container {
    return new Container(this.solver, { ...this.state, ...patch });
  }

  #path(path: string): string {
    return resolvePath(this.state.workdir, path);
  }

  /** The platform steps run on, e.g. `linux/amd64`. */
  get platform(): Platform {
    return this.state.platform;
  }

  /** Starts from an image. Short names are normalised as Docker does (`alpine` is `docker.io/library/alpine:latest`). */
  from(ref: string): Container {
    return this.#with({
      rootfs: imageSource(ref, { platform: this.state.platform }),
      lastExec: undefined,
    });
  }

  /** Runs a command. The new container's filesystem is the result. */
  withExec(args: string[], options: ExecOptions = {}): Container {
    if (args.length === 0) throw new HlnError("E_USAGE", "withExec: args must not be empty");
    const capture = options.capture ?? true;
    const env = this.state.env.map(([k, v]) => `${k}=${v}`);
    const mounts: MountSpec[] = [...this.state.mounts];
    if (capture) mounts.push(captureMount());
    const run = exec({
      root: this.state.rootfs,
      args: capture ? captureArgs(args) : args,
      env,
      cwd: this.state.workdir,
      user: this.state.user,
      network: options.network ?? "sandbox",
      validExitCodes: options.validExitCodes,
      mounts,
      platform: this.state.platform,
      customName: stepName(args),
      ignoreCache: options.noCache,
    });
    this.solver.registerExec(run.root, { args });
    return this.#with({
      rootfs: run.root,
      lastExec: { args, out: capture ? run.mounts.get(captureDir) : undefined },
    });
  }

  /** Sets an environment variable for the steps that follow. */
  withEnvVariable(name: string, value: string): Container {
    if (!name || name.includes("=")) {
      throw new HlnError("E_USAGE", `withEnvVariable: invalid name ${JSON.stringify(name)}`);
    }
    return this.#with({
      env: [...this.state.env.filter(([k]) => k !== name), [name, value] as const],
    });
  }

  /** Sets the working directory for the steps that follow; relative paths resolve against it. */
  withWorkdir(path: string): Container {
    return this.#with({ workdir: this.#path(path) });
  }

  /** Sets the user (`name`, `uid` or `uid:gid`) the steps that follow run as. */
  withUser(user: string): Container {
    return this.#with({ user });
  }

  /** Writes a file into the container's filesystem. */
  withNewFile(
    path: string,
    contents: string | Uint8Array,
    options: { permissions?: number } = {},
  ): Container {
    const dest = this.#path(path);
    return this.#fs(
      new Directory(this.solver, this.state.rootfs).withNewFile(dest, contents, options).output,
    );
  }

  /** Copies a file from another result into the container. */
  withFile(path: string, file: File, options: { permissions?: number } = {}): Container {
    const dest = this.#path(path);
    return this.#fs(
      fileOp({
        base: this.state.rootfs,
        actions: [copyFile(file, dest, options.permissions)],
        customName: `copy ${file.path} to ${dest}`,
      }),
    );
  }

  /** Copies the contents of a directory from another result into `path`. */
  withDirectory(path: string, dir: Directory, filter: CopyFilter = {}): Container {
    const dest = this.#path(path);
    return this.#fs(
      fileOp({
        base: this.state.rootfs,
        actions: [copyDirectory(dir, dest, filter)],
        customName: `copy ${dir.path} to ${dest}`,
      }),
    );
  }

  /**
   * Mounts a cache volume at `path` for the steps that follow. Its contents persist
   * across runs and are never part of the container's filesystem.
   */
  withMountedCache(
    path: string,
    cache: CacheVolume,
    options: { sharing?: "shared" | "private" | "locked" } = {},
  ): Container {
    return this.#mount({
      dest: this.#path(path),
      kind: "cache",
      id: cache.name,
      sharing: options.sharing ?? "shared",
    });
  }

  /** Mounts a directory from another result, read-only, at `path` for the steps that follow. */
  withMountedDirectory(path: string, dir: Directory): Container {
    return this.#mount({
      dest: this.#path(path),
      kind: "bind",
      source: dir.output,
      selector: dir.path === "/" ? undefined : dir.path,
      readonly: true,
    });
  }

  /** Mounts an empty tmpfs at `path` for the steps that follow. */
  withMountedTemp(path: string, options: { size?: number } = {}): Container {
    return this.#mount({ dest: this.#path(path), kind: "tmpfs", size: options.size });
  }

  #mount(m: MountSpec): Container {
    return this.#with({ mounts: [...this.state.mounts.filter((x) => x.dest !== m.dest), m] });
  }

  #fs(rootfs: Output | null): Container {
    return this.#with({ rootfs, lastExec: undefined });
  }

  /** A file in the container's filesystem. */
  file(path: string): File {
    return new File(this.solver, this.state.rootfs, this.#path(path));
  }

  /** A directory in the container's filesystem. */
  directory(path: string): Directory {
    return new Directory(this.solver, this.state.rootfs, this.#path(path));
  }

  /** The standard output of the last `withExec`, from the cache when the step was cached. */
  stdout(): Promise<string> {
    return this.#captured("stdout");
  }

  /** The standard error of the last `withExec`, from the cache when the step was cached. */
  stderr(): Promise<string> {
    return this.#captured("stderr");
  }

  /**
   * The exit code of the last `withExec`. A step that exits with a code outside
   * `validExitCodes` fails the build with an ExecError instead.
   */
  async exitCode(): Promise<number> {
    await this.sync();
    return 0;
  }

  async #captured(stream: "stdout" | "stderr"): Promise<string> {
    const last = this.state.lastExec;
    if (!last) {
      throw new HlnError(
        "E_USAGE",
        `${stream}(): the container has no withExec since its last filesystem change`,
      );
    }
    if (!last.out) {
      throw new HlnError(
        "E_USAGE",
        `${stream}(): ${JSON.stringify(last.args.join(" "))} ran with capture: false`,
      );
    }
    const bytes = await this.solver.readFile(last.out, capturedFile(stream));
    return new TextDecoder().decode(bytes);
  }

  /** Builds the container. */
  async sync(): Promise<this> {
    if (this.state.rootfs) await this.solver.sync(this.state.rootfs);
    return this;
  }
}

/** A one-line display name for a command, as progress shows it. */
function stepName(args: readonly string[]): string {
  return args.join(" ").replace(/\s*\n\s*/g, "; ");
}

/** @internal */
export function emptyContainer(solver: Solver, platform: Platform): Container {
  return new Container(solver, {
    platform,
    rootfs: null,
    env: [],
    workdir: "/",
    user: undefined,
    mounts: [],
    lastExec: undefined,
  });
}
