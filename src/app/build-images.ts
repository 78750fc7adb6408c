/**
 * Builds every service's image in one concurrent run and puts it on the deploy engine,
 * tagged `hln/APP/SERVICE:<short id>`.
 */
import type { DockerClient } from "../docker/client.js";
import { listImages, tagImage, untagImage } from "../docker/images.js";
import type { DeclaredService } from "../stack/app-spec.js";
import { imageRepository, imagesOf } from "./names.js";

export interface BuiltImage {
  /** The image's ID on the deploy engine; "" when nothing was stored (a dry run). */
  id: string;
  /** Names the image's content the same way on every engine. */
  configDigest: string;
  /** `hln/APP/SERVICE:<short id>`, or "" when nothing was stored. */
  tag: string;
}

/** The 12 hex digits Docker shows an image ID by. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/**
 * Builds the images at once; BuildKit shares what they have in common. With `store: false`
 * nothing reaches the Docker engine: only the config digests are learned.
 */
export async function buildImages(
  docker: DockerClient,
  app: string,
  services: readonly DeclaredService[],
  options: { store: boolean; signal?: AbortSignal },
): Promise<Map<string, BuiltImage>> {
  const built = await Promise.all(
    services.map(async (s): Promise<[string, BuiltImage]> => {
      const repo = imageRepository(app, s.name);
      // A name to export under until the ID, and so the final tag, is known.
      const next = `${repo}:next`;
      const { id = "", configDigest } = await s.container.imageOnEngine(next, {
        store: options.store,
      });
      if (!options.store) return [s.name, { id: "", configDigest, tag: "" }];
      const tag = shortId(id);
      await tagImage(docker, id, repo, tag, options.signal);
      await untagImage(docker, next, options.signal);
      return [s.name, { id, configDigest, tag: `${repo}:${tag}` }];
    }),
  );
  return new Map(built);
}

/**
 * Removes the app's image tags that no current service uses. The images themselves stay
 * while a container still runs them; the build cache keeps what rebuilding them needs.
 */
export async function pruneImageTags(
  docker: DockerClient,
  app: string,
  keep: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<string[]> {
  const removed: string[] = [];
  const images = await listImages(docker, { reference: imagesOf(app), signal });
  for (const image of images)
    for (const tag of image.RepoTags ?? []) {
      if (keep.has(tag) || !tag.startsWith(`hln/${app}/`)) continue;
      try {
        await untagImage(docker, tag, signal);
        removed.push(tag);
      } catch {
        // In use by a container that is not ours to stop: it goes with a later run.
      }
    }
  return removed;
}
