/**
 * Where a swarm app's published ports answer. Through the routing mesh, on every node;
 * without it, only on the nodes that run one of the service's tasks, which the swarm
 * chose: so the addresses are read from the tasks, not assumed.
 */
import type { DockerClient } from "../docker/client.js";
import { listNodes, listTasks } from "../docker/tasks.js";
import { type DesiredService, publishedAddress } from "./service-config.js";
import type { ServiceAddress } from "./up.js";

export async function swarmAddresses(
  docker: DockerClient,
  app: string,
  desired: readonly DesiredService[],
  o: { mesh: boolean; managerAddr: string; signal?: AbortSignal },
): Promise<ServiceAddress[]> {
  const publishing = desired.filter((d) => d.spec.ports.length > 0);
  const nodes = !o.mesh && publishing.length > 0 ? await listNodes(docker, o.signal) : [];
  const addrOf = new Map(nodes.map((n) => [n.ID, n.Status?.Addr ?? ""]));
  return Promise.all(
    desired.map(async ({ spec: s }): Promise<ServiceAddress> => {
      let hosts = [o.managerAddr || "127.0.0.1"];
      if (!o.mesh && s.ports.length > 0) {
        const tasks = await listTasks(docker, {
          services: [`hln-${app}-${s.name}`],
          desiredState: "running",
          signal: o.signal,
        });
        hosts = [...new Set(tasks.map((t) => addrOf.get(t.NodeID ?? "") ?? ""))]
          .filter(Boolean)
          .sort();
      }
      return {
        service: s.name,
        kind: s.kind,
        hostname: s.name,
        published: hosts.flatMap((ip) => s.ports.map((p) => publishedAddress({ ...p, ip }))),
      };
    }),
  );
}
