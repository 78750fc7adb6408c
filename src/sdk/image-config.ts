/**
 * The configs of the images a run's containers start from (their Env, WorkingDir, User),
 * asked for lazily: the SDK builds graphs synchronously, and an exec's op can only be
 * written once its image's config is known. Each image is asked for once per run, all
 * the images of a graph in one gateway build, and the ledger answers for images the
 * Docker engine still has unchanged.
 */
import type { GatewayBuild } from "../buildkit/gateway.js";
import { HlnError } from "../errors.js";
import {
  formatPlatform,
  isMarshaled,
  type Output,
  type Platform,
  postOrder,
  type Vertex,
} from "../llb/index.js";
import { ImageBase } from "./image-base.js";
import type { Ledger, LedgerKey } from "./ledger.js";

/** Runs `fn` in a gateway build of the run's session. */
export type InGateway = <T>(fn: (gw: GatewayBuild) => Promise<T>) => Promise<T>;

export interface ImageConfigsOptions {
  ledger?: Ledger | undefined;
  /** Told when a config shows that a relative path the stack used resolved elsewhere. */
  onWarning?: ((message: string) => void) | undefined;
}

export class ImageConfigs {
  readonly #images = new Map<string, ImageBase>();
  readonly #imageOf = new WeakMap<Vertex, ImageBase>();
  /** Requests in flight, so concurrent graphs on one image ask the engine once. */
  readonly #resolving = new Map<ImageBase, Promise<{ config: Uint8Array }>>();
  readonly #ledger: Ledger | undefined;
  readonly #onWarning: ((message: string) => void) | undefined;

  constructor(options: ImageConfigsOptions = {}) {
    this.#ledger = options.ledger;
    this.#onWarning = options.onWarning;
  }

  /** The image a container started from, one per reference and platform. */
  imageBase(ref: string, platform: Platform): ImageBase {
    const key = `${ref}|${formatPlatform(platform)}`;
    let base = this.#images.get(key);
    if (!base) {
      base = new ImageBase(ref, platform);
      this.#images.set(key, base);
    }
    return base;
  }

  /** Records that `vertex`'s op is written from `image`'s config, once it is known. */
  needsImage(vertex: Vertex, image: ImageBase): void {
    this.#imageOf.set(vertex, image);
  }

  /**
   * Asks the engine, through `inGateway`, for the configs of images the graphs below
   * `images` start from and have not been told yet, all in one gateway build. Must run
   * before those graphs are marshaled.
   */
  async resolve(images: ReadonlyArray<ImageBase | Output>, inGateway: InGateway): Promise<void> {
    const wanted = new Set<ImageBase>();
    for (const x of images) {
      // A frontend's image is told its config by the frontend's own build.
      if (x instanceof ImageBase) {
        if (!x.resolved && !x.built) wanted.add(x);
        continue;
      }
      for (const v of postOrder(x.vertex, (u) => !isMarshaled(u))) {
        const image = this.#imageOf.get(v);
        if (image && !image.resolved && !image.built) wanted.add(image);
      }
    }
    if (wanted.size === 0) return;
    const keys = await this.#configsFromLedger(wanted);
    if (wanted.size === 0) return;
    await inGateway(async (gw) => {
      await Promise.all(
        [...wanted].map(async (image) => {
          if (image.resolved) return;
          const pending =
            this.#resolving.get(image) ?? gw.resolveImageConfig(image.ref, image.platform);
          this.#resolving.set(image, pending);
          try {
            const res = await pending;
            if (image.resolved) return;
            const warning = image.resolve(res.config);
            if (warning) this.#onWarning?.(warning);
            const key = keys.get(image);
            if (key)
              await this.#ledger?.record(key, {
                answer: Buffer.from(res.config).toString("base64"),
              });
          } catch (err) {
            this.#resolving.delete(image);
            throw new HlnError(
              "E_SOLVE_FAILED",
              `from(${JSON.stringify(image.ref)}): ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
          }
        }),
      );
    });
  }

  /**
   * Resolves from the ledger the images of `wanted` whose configs it holds for the image
   * the Docker engine has now, and removes them from `wanted`. Returns the keys of the
   * others, to record what the engine answers for them.
   */
  async #configsFromLedger(wanted: Set<ImageBase>): Promise<Map<ImageBase, LedgerKey>> {
    const keys = new Map<ImageBase, LedgerKey>();
    const ledger = this.#ledger;
    if (!ledger) return keys;
    await Promise.all(
      [...wanted].map(async (image) => {
        const key = await ledger.configKey(image.ref, image.platform);
        if (!key) return;
        const hit = await ledger.lookup(key);
        if (hit?.answer === undefined) {
          keys.set(image, key);
          return;
        }
        wanted.delete(image);
        if (image.resolved) return;
        ledger.hit(hit);
        const warning = image.resolve(Buffer.from(hit.answer, "base64"));
        if (warning) this.#onWarning?.(warning);
      }),
    );
    return keys;
  }
}
