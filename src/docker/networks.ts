/**
 * Network operations through the Docker Engine API: each app gets one bridge network,
 * on which its services find each other by name.
 */
import { type DockerClient, DockerHttpError, httpStatus } from "./client.js";
import { labelQuery } from "./label-filter.js";

export interface NetworkSummary {
  Id: string;
  Name: string;
  Labels: Record<string, string> | null;
}

/** `GET /networks`, of the networks that carry every one of `labels` (`k=v` or `k`). */
export async function listNetworks(
  docker: DockerClient,
  o: { labels?: string[]; signal?: AbortSignal },
): Promise<NetworkSummary[]> {
  const query = labelQuery(o.labels);
  return await docker.json<NetworkSummary[]>("GET", `/networks${query ? `?${query}` : ""}`, {
    signal: o.signal,
  });
}

/**
 * `POST /networks/create` of a bridge network (an overlay one on a swarm manager, which
 * spans every node that runs one of its tasks); resolves with its ID. A name already taken
 * is an E_USAGE error naming it: hln does not adopt a network it did not label.
 */
export async function createNetwork(
  docker: DockerClient,
  name: string,
  labels: Record<string, string>,
  signal?: AbortSignal,
  driver: "bridge" | "overlay" = "bridge",
): Promise<string> {
  const path = "/networks/create";
  try {
    const { Id } = await docker.json<{ Id: string }>("POST", path, {
      // CheckDuplicate makes engines before API 1.44 refuse a second network of the same
      // name, as later ones always do; without it they make two, and names stop meaning one.
      body: { Name: name, Driver: driver, Labels: labels, CheckDuplicate: true },
      signal,
    });
    return Id;
  } catch (err) {
    if (httpStatus(err) === 409)
      throw new DockerHttpError(
        409,
        `${docker.endpoint}: POST ${path}: a network named "${name}" already exists`,
        "E_USAGE",
        { cause: err },
      );
    throw err;
  }
}

/**
 * `DELETE /networks/{id}`; a network already gone is fine. A swarm manager answers 500
 * "not found" for an overlay network the swarm removed while its local copy lingers.
 */
export async function removeNetwork(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await docker.json("DELETE", `/networks/${encodeURIComponent(id)}`, { signal });
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) return;
    if (status === 500 && /not found/i.test((err as Error).message)) return;
    throw err;
  }
}
