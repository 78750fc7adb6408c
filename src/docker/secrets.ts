/**
 * Swarm secrets: kept encrypted in the managers' store and given to a service's tasks as
 * files. A secret's value cannot change, so a new value is a new secret; the API never
 * returns a value, only names and labels.
 */
import { type DockerClient, DockerHttpError, httpStatus } from "./client.js";
import { labelQuery } from "./label-filter.js";

export interface SecretSummary {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> };
  CreatedAt?: string;
}

/** `GET /secrets` carrying every one of `labels`. */
export async function listSecrets(
  docker: DockerClient,
  o: { labels?: string[]; signal?: AbortSignal } = {},
): Promise<SecretSummary[]> {
  const query = labelQuery(o.labels);
  return await docker.json<SecretSummary[]>("GET", `/secrets${query ? `?${query}` : ""}`, {
    signal: o.signal,
  });
}

/** `POST /secrets/create`; resolves with its ID. The value travels only in this request's body. */
export async function createSecret(
  docker: DockerClient,
  name: string,
  value: Uint8Array,
  labels: Record<string, string>,
  signal?: AbortSignal,
): Promise<string> {
  const path = "/secrets/create";
  try {
    const { ID } = await docker.json<{ ID: string }>("POST", path, {
      body: { Name: name, Labels: labels, Data: Buffer.from(value).toString("base64") },
      signal,
    });
    return ID;
  } catch (err) {
    if (httpStatus(err) === 409)
      throw new DockerHttpError(
        409,
        `${docker.endpoint}: POST ${path}: a secret named "${name}" already exists`,
        "E_USAGE",
        { cause: err },
      );
    throw err;
  }
}

/**
 * `DELETE /secrets/{id}`; a secret already gone is fine. One a service still uses is
 * refused by the engine (HTTP 400): the caller decides whether that matters.
 */
export async function removeSecret(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await docker.json("DELETE", `/secrets/${encodeURIComponent(id)}`, { signal });
  } catch (err) {
    if (httpStatus(err) !== 404) throw err;
  }
}
