/**
 * The settings a container inherits from the image it starts from: its environment,
 * working directory and user, as the image's OCI config gives them (the Go client's
 * llb.Image with a meta resolver, a Dockerfile's FROM). The SDK builds graphs
 * synchronously, so the config is asked for lazily: once per image, just before the
 * first graph that uses it is sent, and written into the steps' ops then.
 */
import { HlnError } from "../errors.js";
import type { Platform } from "../llb/index.js";

/** The parts of an OCI image config a Container takes over. */
export interface ImageConfig {
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

/** An image a container starts from, and its config once the engine has told it. */
export class ImageBase {
  #config: (ImageConfig & Record<string, unknown>) | undefined;
  #image: Record<string, unknown> | undefined;
  /**
   * Relative paths containers on this image used before any withWorkdir: they resolved
   * against `/`, which is not where steps run when the image has its own WORKDIR.
   */
  readonly relativePaths = new Set<string>();

  constructor(
    readonly ref: string,
    readonly platform: Platform,
    /**
     * True when a frontend (a Dockerfile build) makes the config: it is known once that
     * build has run, and the engine cannot be asked for it by `ref`.
     */
    readonly built = false,
  ) {}

  get resolved(): boolean {
    return this.#config !== undefined;
  }

  /**
   * Records the image's OCI config JSON (the whole image object, `config` inside).
   * Returns a warning when relative paths were resolved against `/` but the image works
   * elsewhere.
   */
  resolve(json: Uint8Array): string | undefined {
    let image: { config?: ImageConfig } & Record<string, unknown>;
    try {
      image = JSON.parse(new TextDecoder().decode(json)) as typeof image;
    } catch (err) {
      throw new HlnError(
        "E_ENGINE_PROTOCOL",
        `image ${this.ref}: the engine sent a config that is not JSON`,
        {
          cause: err,
        },
      );
    }
    this.#image = image !== null && typeof image === "object" ? image : {};
    this.#config = (this.#image.config ?? {}) as ImageConfig & Record<string, unknown>;
    const workdir = this.#config.WorkingDir;
    if (!workdir || workdir === "/" || this.relativePaths.size === 0) return undefined;
    const paths = [...this.relativePaths].slice(0, 3).map((p) => JSON.stringify(p));
    return `${this.ref} works in ${workdir}, but the relative path${paths.length > 1 ? "s" : ""} ${paths.join(", ")} resolved against /: set withWorkdir("${workdir}") first, or use absolute paths`;
  }

  /**
   * The config, everything in it (Cmd, Entrypoint, ExposedPorts, Labels... too, for an
   * image built on this one to carry over); only after `resolve`.
   */
  get config(): ImageConfig & Record<string, unknown> {
    if (!this.#config)
      throw new HlnError(
        "E_INTERNAL",
        `image ${this.ref}: its config was needed before it was resolved`,
      );
    return this.#config;
  }

  /**
   * The whole image object (author, history, rootfs, os... beside `config`), as the engine
   * or the frontend gave it; only after `resolve`.
   */
  get image(): Record<string, unknown> {
    if (!this.#image)
      throw new HlnError(
        "E_INTERNAL",
        `image ${this.ref}: its config was needed before it was resolved`,
      );
    return this.#image;
  }
}

/** `KEY=value` entries as pairs; an entry without `=` is a key with an empty value. */
function envPairs(env: readonly string[]): [string, string][] {
  return env.map((e) => {
    const i = e.indexOf("=");
    return i < 0 ? [e, ""] : [e.slice(0, i), e.slice(i + 1)];
  });
}

/**
 * The environment a step runs with: the image's, with the container's own settings on
 * top (a variable set later replaces the image's in place), minus names that now hold
 * secrets.
 */
export function mergeEnv(
  image: readonly string[],
  own: readonly (readonly [string, string])[],
  hidden: ReadonlySet<string> = new Set(),
): string[] {
  const merged = new Map<string, string>();
  for (const [k, v] of envPairs(image)) merged.set(k, v);
  for (const [k, v] of own) merged.set(k, v);
  for (const k of hidden) merged.delete(k);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}
