import { posix, resolve } from "node:path";
import { assertRemovable } from "../buildkit/fsutil/install-tree.js";
import { HlnError } from "../errors.js";
import {
  type FileActionSpec,
  fileOp,
  formatPlatform,
  type Output,
  type Platform,
} from "../llb/index.js";
import { type Container, containerFromImage } from "./container.js";
import {
  checkDirectoryDestination,
  exportEmptyDirectory,
  keptPaths,
} from "./export-destination.js";
import { File } from "./file.js";
import { dockerfileContext, hostFiles, hostSourceOf } from "./host-source.js";
import { ImageBase } from "./image-base.js";
import { resolvePath } from "./paths.js";
import type { Solver } from "./solver.js";

export interface CopyFilter {
  /** Only copy paths that match these patterns (.dockerignore syntax). */
  include?: string[];
  /** Skip paths that match these patterns (.dockerignore syntax). */
  exclude?: string[];
}

/**
 * A directory tree in a build result. Immutable and lazy: each `with*` returns a new
 * Directory, and nothing runs until a result is asked for.
 *
 * @example
 * const site = dag.directory()
 *   .withNewFile("index.html", "<h1>hello</h1>")
 *   .withDirectory("assets", dag.host().directory("./assets"));
 * await site.export("./public");
 */
export class Directory {
  /** @internal */
  constructor(
    /** @internal */
    readonly solver: Solver,
    /** @internal The result holding the tree; null is an empty filesystem. */
    readonly output: Output | null,
    /** @internal Where the tree sits inside that result. */
    readonly path: string = "/",
  ) {}

  #apply(actions: FileActionSpec[], name: string): Directory {
    return new Directory(
      this.solver,
      fileOp({ base: this.output, actions, customName: name }),
      this.path,
    );
  }

  /** The tree as a result of its own, rooted at "/": what exporters and frontends take. */
  #asRoot(): Output | null {
    if (this.path === "/") return this.output;
    return fileOp({
      base: null,
      actions: [copyDirectory(this, "/", {})],
      customName: `select ${this.path}`,
    });
  }

  #at(path: string): string {
    return resolvePath(this.path, path);
  }

  /** A new directory with a file of the given contents added. */
  withNewFile(
    path: string,
    contents: string | Uint8Array,
    options: { permissions?: number } = {},
  ): Directory {
    const dest = this.#at(path);
    return this.#apply(
      [
        { kind: "mkdir", path: posix.dirname(dest), mode: 0o755, makeParents: true },
        {
          kind: "mkfile",
          path: dest,
          data: typeof contents === "string" ? new TextEncoder().encode(contents) : contents,
          mode: options.permissions ?? 0o644,
        },
      ],
      `new file ${path}`,
    );
  }

  /** A new directory with an empty directory added. */
  withNewDirectory(path: string, options: { permissions?: number } = {}): Directory {
    return this.#apply(
      [
        {
          kind: "mkdir",
          path: this.#at(path),
          mode: options.permissions ?? 0o755,
          makeParents: true,
        },
      ],
      `new directory ${path}`,
    );
  }

  /** A new directory with `file` copied to `path`. */
  withFile(path: string, file: File, options: { permissions?: number } = {}): Directory {
    return this.#apply(
      [copyFile(file, this.#at(path), options.permissions)],
      `copy ${file.path} to ${path}`,
    );
  }

  /** A new directory with the contents of `dir` copied into `path`. */
  withDirectory(path: string, dir: Directory, filter: CopyFilter = {}): Directory {
    return this.#apply([copyDirectory(dir, this.#at(path), filter)], `copy ${dir.path} to ${path}`);
  }

  /** A new directory without `path`. */
  withoutFile(path: string): Directory {
    return this.#apply(
      [{ kind: "rm", path: this.#at(path), allowNotFound: true }],
      `remove ${path}`,
    );
  }

  /** A file inside this directory. */
  file(path: string): File {
    return new File(this.solver, this.output, this.#at(path));
  }

  /** A subdirectory. */
  directory(path: string): Directory {
    return new Directory(this.solver, this.output, this.#at(path));
  }

  /**
   * Builds the directory and writes it into `path` on this machine (created, with its
   * parents, when missing), as buildx's local output and Dagger's `export` do: files and
   * symlinks of the result replace those of the same name, directories are merged, and
   * everything else in `path` stays. A directory in `path` where the result has a file is
   * never replaced (that would delete what it holds): the export is refused instead.
   *
   * With `{ wipe: true }`, `path` afterwards holds exactly the result: everything else in
   * it is deleted (symlinks themselves, never what they point to). `path` keeps its
   * permissions. No export ever removes the stack's directory, the working directory, the
   * home directory, `/`, or a directory holding one of them; asking to is a usage error.
   *
   * Nothing is written outside `path`, and `path` stays as it was until the whole result
   * has arrived in a staging directory beside it. Then its entries are moved in, each by a
   * rename (a file is always either the old one or the new one); if a move fails, those
   * already made are undone, so a failed export leaves `path` as it was.
   *
   * Resolves with the absolute path written.
   *
   * @example
   * await built.directory("/src/dist").export("./dist"); // other files in ./dist stay
   * await built.directory("/src/dist").export("./dist", { wipe: true }); // ./dist is the result
   */
  export(path: string, options: { wipe?: boolean } = {}): Promise<string> {
    return this.solver.track(this.#exportNow(path, options));
  }

  async #exportNow(path: string, options: { wipe?: boolean } = {}): Promise<string> {
    const dest = resolve(path);
    const keep = keptPaths({ stackDirectory: this.solver.stackDirectory, env: this.solver.env });
    const target = await checkDirectoryDestination(path);
    if (options.wipe && target.existed) assertRemovable(target.path, keep, `export to ${path}`);
    const root = this.#asRoot();
    if (!root) {
      await exportEmptyDirectory(target, path, { wipe: options.wipe ?? false, keep });
      return dest;
    }
    await this.solver.exportTo(
      root,
      { type: "local" },
      {
        target: {
          kind: "directory",
          path: dest,
          mode: options.wipe ? "replace" : "merge",
          keep,
        },
      },
    );
    return dest;
  }

  /**
   * Builds the Dockerfile in this directory (BuildKit's built-in Dockerfile frontend, the
   * directory as its context) and returns the result as a Container on which the graph
   * can go on. Environment, working directory and user come from the built image. The
   * Dockerfile is read on its own, before the context is sent, and the directory's ignore
   * rules do not apply to it (as with `docker buildx build`). Nothing runs until a result
   * is asked for; an image exported straight from it is built in that one solve.
   *
   * @example
   * const app = await dag.host().directory("./app").dockerBuild({ target: "runtime" });
   * const out = await app.withExec(["app", "--version"]).stdout();
   */
  async dockerBuild(
    options: {
      /** Path of the Dockerfile inside the directory. Defaults to `Dockerfile`. */
      dockerfile?: string;
      target?: string;
      buildArgs?: Record<string, string>;
      /** Defaults to the dag's platform. */
      platform?: Platform;
    } = {},
  ): Promise<Container> {
    const root = this.#asRoot();
    if (!root) throw new HlnError("E_USAGE", "dockerBuild: the directory is empty");
    const platform = options.platform ?? this.solver.platform;
    const name = options.dockerfile ?? "Dockerfile";
    // Paths resolve inside the directory, where ".." stops at its root: a Dockerfile
    // beside the context would silently become another path inside it.
    if (/^\.\.(\/|$)/.test(posix.normalize(name)))
      throw new HlnError(
        "E_USAGE",
        `dockerBuild: dockerfile ${JSON.stringify(name)} is outside the directory; give its path inside the directory, or build from a directory that holds both`,
      );
    const source = this.#dockerfileSource(name);
    const opts: Record<string, string> = {
      filename: source.filename,
      platform: formatPlatform(platform),
    };
    if (options.target) opts.target = options.target;
    for (const [k, v] of Object.entries(options.buildArgs ?? {})) opts[`build-arg:${k}`] = v;
    // The image config the frontend makes (ENV, WORKDIR, USER, CMD...) is the new base.
    const image = new ImageBase(`dockerBuild ${name}`, platform, true);
    const host = this.path === "/" ? hostSourceOf(this.output) : undefined;
    const context = (host && dockerfileContext(host, source.filename)) ?? root;
    const rootfs = this.solver.frontend("dockerfile.v0", {
      opts,
      inputs: { context, dockerfile: source.output },
      image,
    });
    return containerFromImage(this.solver, rootfs, platform, image);
  }

  /**
   * The Dockerfile at `name` as a source of its own (dockerui's `dockerfile` input), and
   * its path there. From a host directory only that file travels (plus the
   * `<name>.dockerignore` and lower-case `dockerfile` the frontend also looks for);
   * from a built tree a copy selects it.
   */
  #dockerfileSource(name: string): { output: Output; filename: string } {
    const abs = this.#at(name);
    const host = hostSourceOf(this.output);
    if (host) {
      const rel = abs.slice(1);
      const paths = [rel, `${rel}.dockerignore`];
      if (posix.basename(rel) === "Dockerfile")
        paths.push(posix.join(posix.dirname(rel), "dockerfile"));
      return { output: hostFiles(host, paths, `load ${name}`), filename: rel };
    }
    const filename = posix.basename(abs);
    const output = fileOp({
      base: null,
      actions: [copyFile(new File(this.solver, this.output, abs), `/${filename}`)],
      customName: `load ${name}`,
    });
    return { output, filename };
  }

  /** Builds the directory. */
  async sync(): Promise<this> {
    if (this.output) await this.solver.sync(this.output);
    return this;
  }
}

/** @internal */
export function copyFile(file: File, dest: string, mode?: number): FileActionSpec {
  if (!file.output)
    throw new HlnError("E_USAGE", `copy ${file.path}: the source filesystem is empty`);
  return {
    kind: "copy",
    src: file.output,
    srcPath: file.path,
    destPath: dest,
    mode,
    createDestPath: true,
    followSymlink: true,
  };
}

/** @internal */
export function copyDirectory(dir: Directory, dest: string, filter: CopyFilter): FileActionSpec {
  return {
    kind: "copy",
    src: dir.output,
    srcPath: dir.path,
    destPath: dest,
    dirCopyContents: true,
    createDestPath: true,
    followSymlink: true,
    allowWildcard: true,
    allowEmptyWildcard: true,
    includePatterns: filter.include,
    excludePatterns: filter.exclude,
  };
}
