/**
 * Builds every service's image in one concurrent run and puts it on the deploy engine,
 * tagged `hln/APP/SERVICE:<short id>`.
 */
import type { DockerClient } from "../docker/client.js";
import { listImages, tagImage, untagImage } from "../docker/images.js";
import { HlnError } from "../errors.js";
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

/** Where a swarm's nodes pull an app's images from: `--registry` or HLN_REGISTRY. */
export interface DeployRegistry {
  /** `host[:port]`, as image references name it. */
  host: string;
  /** A path under the host every app's repositories go in, e.g. `team`; "" for none. */
  prefix: string;
  /** `http://…`: a registry without TLS (BuildKit pushes to it over plain HTTP). */
  insecure: boolean;
}

/**
 * Parses `HOST[:PORT][/PREFIX]`, or `http://HOST:PORT[/PREFIX]` for a plain-HTTP registry
 * (a test registry on a private network); E_USAGE naming `from` otherwise.
 */
export function parseRegistry(value: string, from: string): DeployRegistry {
  const insecure = value.startsWith("http://");
  const rest = value.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const [host = "", ...path] = rest.split("/");
  const prefix = path.join("/");
  // A first part without a dot or a port (and not localhost) is a Docker Hub namespace to
  // every image reference parser: `myreg/hln/x` would be pushed to docker.io.
  const isHost = host.includes(".") || host.includes(":") || host === "localhost";
  const port = Number(host.split(":")[1] ?? "1");
  if (
    !/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:\d{1,5})?$/.test(
      host,
    ) ||
    !isHost ||
    port < 1 ||
    port > 65535 ||
    (prefix !== "" && !/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(prefix))
  )
    throw new HlnError(
      "E_USAGE",
      `${from} ${JSON.stringify(value)}: expected HOST[:PORT][/PREFIX], the host with a dot or a port (or localhost), e.g. registry.example.com/team, registry:5000, or http://10.0.0.5:5000 for a registry without TLS`,
    );
  return { host, prefix, insecure };
}

/** The registry as `parseRegistry` reads it back. */
export function registryText(r: DeployRegistry): string {
  return `${r.insecure ? "http://" : ""}${[r.host, r.prefix].filter(Boolean).join("/")}`;
}

/** The repository an app's service image is pushed to: `HOST[/PREFIX]/hln/APP/SERVICE`. */
export function registryRepository(r: DeployRegistry, app: string, service: string): string {
  return [r.host, r.prefix, imageRepository(app, service)].filter(Boolean).join("/");
}

/**
 * Builds the images at once and pushes each with BuildKit's own push (`:latest`, a tag that
 * only moves); resolves with the reference every node pulls, pinned by digest (`tag`),
 * and the config digest.
 */
export async function pushImages(
  app: string,
  services: readonly DeclaredService[],
  registry: DeployRegistry,
): Promise<Map<string, BuiltImage>> {
  const pushed = await Promise.all(
    services.map(async (s): Promise<[string, BuiltImage]> => {
      const repo = registryRepository(registry, app, s.name);
      // The tag only moves: what runs is pinned by digest.
      const { reference, configDigest } = await s.container.pushForDeploy(`${repo}:latest`, {
        insecure: registry.insecure,
      });
      return [
        s.name,
        { id: reference.slice(reference.indexOf("@") + 1), configDigest, tag: reference },
      ];
    }),
  );
  return new Map(pushed);
}

/**
 * Removes the names of the app's images that a swarm node pulled (`HOST/…/hln/APP/SERVICE@…`)
 * or a registry-less deploy stored (`hln/APP/SERVICE:…`) on this engine, but those in `keep`.
 * A name a container still uses stays: the next run removes it. Other nodes' copies are
 * theirs to remove; a manager's API does not reach them.
 */
export async function pruneSwarmImages(
  docker: DockerClient,
  app: string,
  keep: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<{ removed: string[]; inUse: string[] }> {
  const ours = (name: string) => {
    const path = name.replace(/[@:][^/]*$/, "");
    const at = path.indexOf(`hln/${app}/`);
    return (
      (at === 0 || (at > 0 && path[at - 1] === "/")) &&
      !path.slice(at + `hln/${app}/`.length).includes("/")
    );
  };
  const removed: string[] = [];
  const inUse: string[] = [];
  for (const image of await listImages(docker, { signal }))
    for (const name of image.RepoTags ?? []) {
      if (!ours(name) || keep.has(name)) continue;
      try {
        await untagImage(docker, name, signal);
        removed.push(name);
      } catch {
        // A task's container still uses it: the next run removes it.
        inUse.push(name);
      }
    }
  return { removed: removed.sort(), inUse: inUse.sort() };
}
