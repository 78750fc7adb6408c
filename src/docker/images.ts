/**
 * Image operations through the Docker Engine API, for engines whose BuildKit cannot do
 * them itself: with Docker's classic image store only the moby, local and tar exporters
 * exist, so tarballs and pushes go through `docker save` and `docker push` equivalents.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { HlnError } from "../errors.js";
import { type DockerClient, httpStatus } from "./client.js";

/** Splits `host/repo:tag` (or `repo@digest`) into the repository and the tag. */
function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

/** Writes `docker save` of `names` to `dest`: into a temporary sibling, renamed on success. */
export async function saveImage(
  docker: DockerClient,
  names: string[],
  dest: string,
  signal?: AbortSignal,
): Promise<void> {
  const query = names.map((n) => `names=${encodeURIComponent(n)}`).join("&");
  const res = await docker.stream("GET", `/images/get?${query}`, { signal });
  const tmp = `${dest}.hln-${process.pid}-${Date.now()}.tmp`;
  try {
    await pipeline(res, createWriteStream(tmp), { signal });
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw HlnError.from(err, "E_ENGINE_PROTOCOL");
  }
}

/**
 * Pushes an image the engine holds. `registryAuth` is the X-Registry-Auth value (base64url
 * JSON of username, password and server address). Resolves with the pushed manifest digest.
 */
export async function pushImage(
  docker: DockerClient,
  ref: string,
  registryAuth: string,
  signal?: AbortSignal,
): Promise<string> {
  const { repo, tag } = splitRef(ref);
  const res = await docker.stream(
    "POST",
    `/images/${encodeURIComponent(repo)}/push?tag=${encodeURIComponent(tag)}`,
    {
      headers: { "X-Registry-Auth": registryAuth },
      signal,
    },
  );
  // The answer is a stream of JSON messages; failures arrive in it with HTTP 200.
  let digest: string | undefined;
  await eachMessage(res, (m) => {
    if (m.error) throw new HlnError("E_SOLVE_FAILED", `push ${ref}: ${m.error}`);
    if (m.aux?.Digest) digest = m.aux.Digest;
  });
  if (!digest)
    throw new HlnError("E_ENGINE_PROTOCOL", `push ${ref}: the engine reported no digest`);
  return digest;
}

/** Removes an image name (the image stays while other names point at it). */
export async function untagImage(
  docker: DockerClient,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  await docker.json("DELETE", `/images/${encodeURIComponent(name)}?noprune=1`, { signal });
}

/**
 * Loads an image tarball (`docker` format) into the engine's image store, as
 * `docker load` does, and resolves with the names it loaded.
 */
export async function loadImage(
  docker: DockerClient,
  tarball: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const res = await docker.stream("POST", "/images/load", {
    headers: { "Content-Type": "application/x-tar" },
    body: createReadStream(tarball),
    signal,
  });
  const loaded: string[] = [];
  await eachMessage(res, (m) => {
    if (m.error) throw new HlnError("E_SOLVE_FAILED", `load into ${docker.endpoint}: ${m.error}`);
    const name = /^Loaded image(?: ID)?: (.+)$/.exec(m.stream?.trim() ?? "")?.[1];
    if (name) loaded.push(name);
  });
  return loaded;
}

interface ProgressMessage {
  error?: string;
  stream?: string;
  aux?: { Digest?: string };
}

/** Docker's progress answers are JSON lines; failures arrive in them with HTTP 200. */
async function eachMessage(
  res: AsyncIterable<unknown>,
  handle: (m: ProgressMessage) => void,
): Promise<void> {
  let buffer = "";
  const line = (text: string) => {
    if (text.trim()) handle(JSON.parse(text) as ProgressMessage);
  };
  for await (const chunk of res) {
    buffer += (chunk as Buffer).toString("utf8");
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const l of lines) line(l);
  }
  line(buffer);
}

export interface ImageDetails {
  Id: string;
  RepoTags: string[] | null;
  Config?: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    User?: string;
    WorkingDir?: string;
    Healthcheck?: unknown;
  };
}

/** `GET /images/{ref}/json`; undefined when the engine has no such image. */
export async function inspectImage(
  docker: DockerClient,
  ref: string,
  signal?: AbortSignal,
): Promise<ImageDetails | undefined> {
  try {
    return await docker.json<ImageDetails>("GET", `/images/${encodeURIComponent(ref)}/json`, {
      signal,
    });
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  }
}

/** Gives the image `source` (a name or an ID) the name `repo:tag` as well. */
export async function tagImage(
  docker: DockerClient,
  source: string,
  repo: string,
  tag: string,
  signal?: AbortSignal,
): Promise<void> {
  await docker.json(
    "POST",
    `/images/${encodeURIComponent(source)}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`,
    { signal },
  );
}

/** Images whose name matches `reference`, Docker's pattern (`hln/shop/*`, `hln/shop/api:*`); all without one. */
export async function listImages(
  docker: DockerClient,
  o: { reference?: string; signal?: AbortSignal },
): Promise<{ Id: string; RepoTags: string[] | null }[]> {
  const query =
    o.reference === undefined
      ? ""
      : `?filters=${encodeURIComponent(JSON.stringify({ reference: [o.reference] }))}`;
  return await docker.json("GET", `/images/json${query}`, { signal: o.signal });
}
