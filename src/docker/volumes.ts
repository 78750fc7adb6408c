/**
 * Volume operations through the Docker Engine API: an app's named volumes outlive its
 * containers, and go only when the user asks (`hln down --volumes`).
 */
import { type DockerClient, DockerHttpError, httpStatus } from "./client.js";
import { labelQuery } from "./label-filter.js";

export interface VolumeSummary {
  Name: string;
  Labels: Record<string, string> | null;
  Mountpoint?: string;
}

/** `GET /volumes`, of the volumes that carry every one of `labels` (`k=v` or `k`). */
export async function listVolumes(
  docker: DockerClient,
  o: { labels?: string[]; signal?: AbortSignal },
): Promise<VolumeSummary[]> {
  const query = labelQuery(o.labels);
  const { Volumes } = await docker.json<{ Volumes: VolumeSummary[] | null }>(
    "GET",
    `/volumes${query ? `?${query}` : ""}`,
    { signal: o.signal },
  );
  return Volumes ?? [];
}

/**
 * `POST /volumes/create` with the local driver. Docker answers a name that exists with
 * that volume, unchanged (its labels stay as they were), so this is also "ensure".
 */
export async function createVolume(
  docker: DockerClient,
  name: string,
  labels: Record<string, string>,
  signal?: AbortSignal,
): Promise<void> {
  await docker.json("POST", "/volumes/create", {
    body: { Name: name, Driver: "local", Labels: labels },
    signal,
  });
}

/**
 * `DELETE /volumes/{name}`; a volume already gone is fine. One that a container still
 * uses (even a stopped one) is an E_USAGE error naming it: its data stays.
 */
export async function removeVolume(
  docker: DockerClient,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  const path = `/volumes/${encodeURIComponent(name)}`;
  try {
    await docker.json("DELETE", path, { signal });
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) return;
    if (status === 409) {
      // moby: "remove NAME: volume is in use - [ID, ID]"
      const users = /in use - \[([^\]]*)\]/
        .exec((err as Error).message)?.[1]
        ?.split(",")
        .map((id) => id.trim().slice(0, 12))
        .filter(Boolean);
      throw new DockerHttpError(
        409,
        `${docker.endpoint}: DELETE ${path}: volume "${name}" is in use by ${users?.length ? `container ${users.join(", ")}` : "a container"}`,
        "E_USAGE",
        { cause: err },
      );
    }
    throw err;
  }
}
