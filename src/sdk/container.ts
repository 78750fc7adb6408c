import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadImage, pushImage, saveImage, untagImage } from "../docker/images.js";
import { displayCommand, HlnError } from "../errors.js";
import {
  exec,
  fileOp,
  imageSource,
  type MountSpec,
  normalizeImageRef,
  type Output,
  type Platform,
} from "../llb/index.js";
import type { CacheVolume } from "./cache-volume.js";
import { type CopyFilter, copyDirectory, copyFile, Directory } from "./directory.js";
import { captureDir, capturedFile, wireExec } from "./exec-capture.js";
import { prepareFileDestination } from "./export-destination.js";
import { File } from "./file.js";
import { type ImageBase, type ImageConfig, mergeEnv } from "./image-base.js";
import { resolvePath } from "./paths.js";
import { assertProcessString } from "./process-limits.js";
import { registryAuth } from "./registry-auth.js";
import type { Secret } from "./secret.js";
import type { Solver } from "./solver.js";

export interface ExecOptions {
  /**
   * Capture stdout, stderr and the exit code so `stdout()`, `stderr()` and `exitCode()`
   * can return them, cached runs included. Defaults to true. On linux/amd64 and
   * linux/arm64 hln's own static shim (`/.hln/shim/hln-exec`) runs the command and needs
   * nothing from the image; on other architectures a `/bin/sh` script does, and needs
   * `sh`, `tee` and `mkfifo` in the image. `false` runs the command bare, except that an
   * argv over 4 KiB still reaches it through the shim (in a file, so that engine errors,
   * which quote the argv, stay small).
   */
  capture?: boolean;
  /** Network for the step: `sandbox` (default, outbound through the engine's bridge) or `none`. */
  network?: "sandbox" | "none";
  /**
   * Exit codes that count as success. Defaults to `[0]`. With capture on linux/amd64 or
   * linux/arm64 and 0 in the list, hln's shim applies it and any engine runs it; otherwise
   * it needs BuildKit 0.17 or newer (cap `exec.validexitcode`).
   */
  validExitCodes?: number[];
  /** Run even when an identical step is cached. */
  noCache?: boolean;
}

interface ContainerState {
  readonly platform: Platform;
  readonly rootfs: Output | null;
  /** The image the filesystem started from; its env, workdir and user apply underneath. */
  readonly image: ImageBase | undefined;
  /** Variables set on the container; they override the image's. */
  readonly env: ReadonlyArray<readonly [string, string]>;
  /** Set by withWorkdir; else the image's, else `/`. */
  readonly workdir: string | undefined;
  /** Set by withUser; else the image's. */
  readonly user: string | undefined;
  readonly mounts: readonly MountSpec[];
  readonly secretEnv: readonly { readonly id: string; readonly name: string }[];
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
    /** @internal */
    readonly solver: Solver,
    /** @internal */
    private readonly state: ContainerState,
  ) {}

  #with(patch: Partial<ContainerState>): Container {
    return new Container(this.solver, { ...this.state, ...patch });
  }

  #path(path: string): string {
    // Relative to the workdir set here; an image's WORKDIR is known only once the graph
    // is sent, too late for paths baked into file ops. The image is told, so it can warn
    // when its WORKDIR turns out to differ.
    if (this.state.workdir === undefined && !path.startsWith("/"))
      this.state.image?.relativePaths.add(path);
    return resolvePath(this.state.workdir ?? "/", path);
  }

  /** The platform steps run on, e.g. `linux/amd64`. */
  get platform(): Platform {
    return this.state.platform;
  }

  /**
   * Starts from an image. Short names are normalised as Docker does (`alpine` is
   * `docker.io/library/alpine:latest`). Steps inherit the image's environment, working
   * directory and user; what the container sets overrides them.
   */
  from(ref: string): Container {
    return this.#with({
      rootfs: imageSource(ref, { platform: this.state.platform }),
      image: this.solver.imageBase(normalizeImageRef(ref), this.state.platform),
      lastExec: undefined,
    });
  }

  /**
   * Uses `dir` as the whole root filesystem, as Dagger's `withRootfs` does: for example a
   * static binary alone on an empty filesystem. The container's settings stay.
   *
   * @example
   * const bin = dag.container().from("busybox").file("/bin/busybox");
   * const tiny = dag.container().withRootfs(dag.directory().withFile("/bin/busybox", bin));
   */
  withRootfs(dir: Directory): Container {
    const rootfs =
      dir.path === "/"
        ? dir.output
        : fileOp({
            base: null,
            actions: [copyDirectory(dir, "/", {})],
            customName: `copy ${dir.path} to /`,
          });
    return this.#with({ rootfs, lastExec: undefined });
  }

  /** Runs a command. The new container's filesystem is the result. */
  withExec(args: string[], options: ExecOptions = {}): Container {
    if (args.length === 0) throw new HlnError("E_USAGE", "withExec: args must not be empty");
    // Long arguments travel to the shim in a file; a NUL byte cannot travel at all.
    args.forEach((a, i) => {
      if (typeof a === "string" && a.includes("\0"))
        assertProcessString("withExec", `argument ${i}`, a);
    });
    const capture = options.capture ?? true;
    const image = this.state.image;
    // With a base image, env, cwd and user are written into the op once its config is in.
    const now = this.#process({});
    const process = image ? () => this.#process(image.config) : undefined;
    const mounts: MountSpec[] = [...this.state.mounts];
    const wire = wireExec(args, this.state.platform.architecture, {
      capture,
      validExitCodes: options.validExitCodes,
    });
    mounts.push(...wire.mounts);
    const wireArgs = wire.wireArgs;
    const run = exec({
      root: this.state.rootfs,
      args: wireArgs,
      ...now,
      process,
      network: options.network ?? "sandbox",
      validExitCodes: wire.validExitCodes,
      mounts,
      secretEnv: this.state.secretEnv,
      platform: this.state.platform,
      customName: stepName(args),
      ignoreCache: options.noCache,
    });
    this.solver.registerExec(run.root, { args, wireArgs, user: this.state.user });
    if (image) this.solver.needsImage(run.root.vertex, image);
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
    assertProcessString(
      `withEnvVariable(${JSON.stringify(name)})`,
      "the variable",
      `${name}=${value}`,
    );
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

  /**
   * Mounts a secret as a file at `path` for the steps that follow. The file exists only
   * while a step runs: it is never part of the filesystem, the cache key or an image.
   */
  withMountedSecret(
    path: string,
    secret: Secret,
    options: { mode?: number; uid?: number; gid?: number } = {},
  ): Container {
    return this.#mount({
      dest: this.#path(path),
      kind: "secret",
      id: this.solver.addSecret(secret).id,
      mode: options.mode ?? 0o400,
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
    });
  }

  /** Sets an environment variable to a secret's value for the steps that follow. */
  withSecretVariable(name: string, secret: Secret): Container {
    if (!name || name.includes("=")) {
      throw new HlnError("E_USAGE", `withSecretVariable: invalid name ${JSON.stringify(name)}`);
    }
    const id = this.solver.addSecret(secret).id;
    return this.#with({
      secretEnv: [...this.state.secretEnv.filter((e) => e.name !== name), { id, name }],
      env: this.state.env.filter(([k]) => k !== name),
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
   * The exit code of the last `withExec`, from the cache when the step was cached: 0, or
   * another of its `validExitCodes`. A step that exits with a code outside them fails the
   * build with an ExecError instead.
   *
   * @example
   * await ctr.withExec(["sh", "-c", "exit 3"], { validExitCodes: [0, 3] }).exitCode(); // 3
   */
  async exitCode(): Promise<number> {
    const text = await this.#captured("exit");
    const code = Number(text.trim());
    if (!/^\d+$/.test(text.trim()))
      throw new HlnError(
        "E_ENGINE_PROTOCOL",
        `exitCode(): the step recorded ${JSON.stringify(text)}`,
      );
    return code;
  }

  async #captured(stream: "stdout" | "stderr" | "exit"): Promise<string> {
    const last = this.state.lastExec;
    if (!last) {
      throw new HlnError(
        "E_USAGE",
        `${stream === "exit" ? "exitCode" : stream}(): the container has no withExec since its last filesystem change`,
      );
    }
    if (!last.out) {
      throw new HlnError(
        "E_USAGE",
        `${stream === "exit" ? "exitCode" : stream}(): ${JSON.stringify(displayCommand(last.args))} ran with capture: false`,
      );
    }
    const bytes = await this.solver.readFile(last.out, capturedFile(stream));
    return new TextDecoder().decode(bytes);
  }

  /**
   * What a process here runs with on top of `base`, the image's config: the image's
   * environment with this container's variables over it (minus names that hold
   * secrets), and this container's workdir and user, else the image's.
   */
  #process(base: ImageConfig): { env: string[]; cwd: string; user?: string } {
    const { env, workdir, user, secretEnv } = this.state;
    const hidden = new Set(secretEnv.map((e) => e.name));
    return {
      env: mergeEnv(base.Env ?? [], env, hidden),
      cwd: workdir ?? (base.WorkingDir || "/"),
      user: user ?? (base.User || undefined),
    };
  }

  /**
   * The image config exporters write: the base image's whole config as the engine or the
   * Dockerfile frontend made it (author, history, labels...), with only what this container
   * changed on top. Layers added here get no history entries from us: BuildKit's exporter
   * adds one per layer the history does not account for, named after the step that made it
   * (exporter/containerimage/writer.go normalizeLayersAndHistory), which we could not count
   * better ourselves.
   */
  async #imageConfig(): Promise<Record<string, Uint8Array>> {
    const p = this.state.platform;
    const image = this.state.image;
    if (image) await this.solver.resolveImages([image]);
    // A new image is made now: the exporter dates it by its newest layer, as it does
    // after dockerfile2llb clears the base's `created`.
    const { created: _created, ...whole } = image?.image ?? {};
    const config: ImageConfig & Record<string, unknown> = { ...(image?.config ?? {}) };
    const { env, workdir, user, secretEnv } = this.state;
    if (env.length > 0 || secretEnv.length > 0) {
      const hidden = new Set(secretEnv.map((e) => e.name));
      config.Env = mergeEnv(config.Env ?? [], env, hidden);
    }
    if (workdir !== undefined) config.WorkingDir = workdir;
    if (user !== undefined) config.User = user;
    const out = {
      ...whole,
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      config,
    };
    return { "containerimage.config": new TextEncoder().encode(JSON.stringify(out)) };
  }

  #rootfs(what: string): Output {
    if (!this.state.rootfs)
      throw new HlnError("E_USAGE", `${what}: the container has no filesystem; start with from()`);
    return this.state.rootfs;
  }

  /**
   * Writes the container as an image tarball to `path`: `docker` format (for `docker load`)
   * or `oci`. The previous file stays in place until the new one has fully arrived.
   * Destinations follow `File.export`: missing parents are created, a directory is refused.
   */
  export(
    path: string,
    options: { format?: "docker" | "oci"; name?: string } = {},
  ): Promise<string> {
    return this.solver.track(this.#exportNow(path, options));
  }

  async #exportNow(
    path: string,
    options: { format?: "docker" | "oci"; name?: string } = {},
  ): Promise<string> {
    await this.#exportTarball(path, options);
    return resolve(path);
  }

  /** Writes the image tarball and resolves with what the exporter reported. */
  async #exportTarball(
    path: string,
    options: { format?: "docker" | "oci"; name?: string } = {},
  ): Promise<Record<string, string>> {
    // Checked before the build: a place that cannot be written is the user's to fix.
    const target = await prepareFileDestination(path);
    const classic = await this.solver.classicDocker();
    if (classic) {
      // Only moby, local and tar exporters exist there: store the image, then save it.
      const name = normalizeImageRef(options.name ?? `hln-export/${randomUUID()}:latest`);
      const stored = await this.#storeImage(name);
      await saveImage(classic, [name], target, this.solver.signal);
      if (!options.name) await untagImage(classic, name, this.solver.signal);
      return stored;
    }
    const attrs: Record<string, string> = {};
    if (options.name) attrs.name = normalizeImageRef(options.name);
    return this.solver.exportTo(
      this.#rootfs("export"),
      { type: options.format ?? "docker", attrs },
      { target: { kind: "file", path: target }, metadata: () => this.#imageConfig() },
    );
  }

  /**
   * Pushes the container as an image to a registry and returns its reference by digest.
   * Credentials come from the Docker config (`DOCKER_CONFIG`, `~/.docker/config.json`).
   */
  publish(ref: string, options: { insecure?: boolean } = {}): Promise<string> {
    return this.solver.track(this.#publishNow(ref, options));
  }

  async #publishNow(ref: string, options: { insecure?: boolean } = {}): Promise<string> {
    return (await this.#push(ref, options)).reference;
  }

  /**
   * @internal For `hln up` on a swarm: publishes as `publish` does and resolves with the
   * reference by digest and the digest of the image's config, which names its content the
   * same way on every engine.
   */
  pushForDeploy(
    ref: string,
    options: { insecure?: boolean } = {},
  ): Promise<{ reference: string; configDigest: string }> {
    return this.solver.track(this.#push(ref, { ...options, store: false }));
  }

  async #push(
    ref: string,
    options: { insecure?: boolean; store?: boolean },
  ): Promise<{ reference: string; configDigest: string }> {
    const name = normalizeImageRef(ref);
    const repo = name.replace(/@.*$/, "").replace(/:[^/:]+$/, "");
    const classic = await this.solver.classicDocker();
    if (classic) {
      // The classic store has no image exporter: store the image, then push it from there.
      await this.#asImageNow(name);
      const host = name.slice(0, name.indexOf("/"));
      const auth = await registryAuth(host, { env: this.solver.env, signal: this.solver.signal });
      const digest = await pushImage(classic, name, auth, this.solver.signal);
      const { Id } = await classic.json<{ Id: string }>(
        "GET",
        `/images/${encodeURIComponent(name)}/json`,
        { signal: this.solver.signal },
      );
      // The classic store's image ID is its config's digest.
      return { reference: `${repo}@${digest}`, configDigest: Id };
    }
    const attrs: Record<string, string> = { name, push: "true" };
    // A deploy's image lives in the registry; a copy in the building engine's store would
    // only pile up there, a new one per deploy.
    if (options.store === false) attrs.store = "false";
    if (options.insecure) attrs["registry.insecure"] = "true";
    const res = await this.solver.exportTo(
      this.#rootfs("publish"),
      { type: "image", attrs },
      { metadata: () => this.#imageConfig() },
    );
    const digest = res["containerimage.digest"];
    if (!digest)
      throw new HlnError("E_ENGINE_PROTOCOL", `publish ${ref}: the engine reported no digest`);
    return {
      reference: `${repo}@${digest}`,
      configDigest: res["containerimage.config.digest"] ?? "",
    };
  }

  /**
   * Stores the container as an image named `name` in the Docker engine that runs the
   * build, ready for `docker run` or a deploy. Resolves with the image ID.
   */
  asImage(name: string): Promise<string> {
    return this.solver.track(this.#asImageNow(name));
  }

  async #asImageNow(name: string): Promise<string> {
    return (await this.#imageOnEngine(name)).id;
  }

  /**
   * @internal For `hln up`: stores the image in the deploy engine as `asImage` does and
   * resolves with its ID there and the digest of its config, which names the image's
   * content (layers and settings) the same way on every engine. With `{ store: false }`
   * the image is built and its config digest read without touching the Docker engine
   * (a dry run): the tarball goes to a temporary file that is removed.
   */
  async imageOnEngine(
    name: string,
    options: { store?: boolean } = {},
  ): Promise<{ id?: string; configDigest: string }> {
    return this.solver.track(this.#imageOnEngine(name, options));
  }

  async #imageOnEngine(
    name: string,
    options: { store?: boolean } = {},
  ): Promise<{ id: string; configDigest: string }> {
    const deploy = this.solver.separateDocker;
    if (deploy || options.store === false) {
      // BuildKit runs elsewhere (or nothing may be stored): the image comes over as a tarball.
      const dir = await mkdtemp(join(tmpdir(), "hln-image-"));
      try {
        const tar = join(dir, "image.tar");
        const res = await this.#exportTarball(tar, { format: "docker", name });
        const configDigest = res["containerimage.config.digest"] ?? "";
        if (!deploy || options.store === false) return { id: "", configDigest };
        await loadImage(deploy, tar, this.solver.signal);
        const inspected = await deploy.json<{ Id: string }>(
          "GET",
          `/images/${encodeURIComponent(normalizeImageRef(name))}/json`,
          { signal: this.solver.signal },
        );
        return { id: inspected.Id, configDigest };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const res = await this.#storeImage(name);
    return {
      id: res["containerimage.digest"] ?? "",
      configDigest: res["containerimage.config.digest"] ?? "",
    };
  }

  /** The moby exporter: the image lands in the store of the Docker engine that builds. */
  #storeImage(name: string): Promise<Record<string, string>> {
    return this.solver.exportTo(
      this.#rootfs("asImage"),
      { type: "moby", attrs: { name: normalizeImageRef(name) } },
      { metadata: () => this.#imageConfig() },
    );
  }

  /** Builds the container. */
  async sync(): Promise<this> {
    if (this.state.rootfs) await this.solver.sync(this.state.rootfs);
    return this;
  }
}

/** @internal A container on a built image's filesystem, with the image's settings. */
export function containerFromImage(
  solver: Solver,
  rootfs: Output,
  platform: Platform,
  image: ImageBase,
): Container {
  return new Container(solver, {
    platform,
    rootfs,
    image,
    env: [],
    workdir: undefined,
    user: undefined,
    mounts: [],
    secretEnv: [],
    lastExec: undefined,
  });
}

/** A one-line display name for a command, as progress shows it. */
function stepName(args: readonly string[]): string {
  return displayCommand(args).replace(/\s*\n\s*/g, "; ");
}

/** @internal */
export function emptyContainer(solver: Solver, platform: Platform): Container {
  return new Container(solver, {
    platform,
    rootfs: null,
    image: undefined,
    env: [],
    workdir: undefined,
    user: undefined,
    mounts: [],
    secretEnv: [],
    lastExec: undefined,
  });
}
