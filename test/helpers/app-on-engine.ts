/**
 * What `hln up` left on the engine for an app, read through hln's own Docker client:
 * its containers (inspected, by name) and the image tags it made.
 */
import type { DockerClient } from "../../src/docker/client.js";

/** The app's containers, inspected, sorted by name; `T` picks the fields a test reads. */
export async function appContainers<T extends { Name: string }>(
  docker: DockerClient,
  app: string,
): Promise<T[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
  const list = await docker.json<{ Id: string }[]>(
    "GET",
    `/containers/json?all=1&filters=${filters}`,
  );
  const out = await Promise.all(list.map((c) => docker.json<T>("GET", `/containers/${c.Id}/json`)));
  return out.sort((a, b) => (a.Name < b.Name ? -1 : 1));
}

/** The image tags hln made for the app (`hln/APP/SERVICE:<id>`), sorted. */
export async function appImageTags(docker: DockerClient, app: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ reference: [`hln/${app}/*`] }));
  const images = await docker.json<{ RepoTags: string[] | null }[]>(
    "GET",
    `/images/json?filters=${filters}`,
  );
  return images.flatMap((i) => i.RepoTags ?? []).sort();
}
