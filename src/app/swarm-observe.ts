/**
 * What of an app runs on a swarm, read from a manager: its services (by the labels hln
 * gives them), its overlay network and its secrets. Like observe.ts for one engine, the
 * swarm is the truth, so this works from any machine that reaches a manager.
 */
import type { DockerClient } from "../docker/client.js";
import { listNetworks } from "../docker/networks.js";
import { listSecrets } from "../docker/secrets.js";
import { listServices, type ServiceDetails } from "../docker/services.js";
import { labels, networkName } from "./names.js";

export interface ObservedService {
  id: string;
  /** Docker's name: hln-APP-SERVICE. */
  name: string;
  /** The app's name for it. */
  service: string;
  kind: "service" | "job";
  configHash: string;
  labels: Record<string, string>;
  /** What an update must be sent with. */
  version: number;
  replicas: number;
  running: number;
  /** Swarm's update state: updating, paused, completed, rollback_started, rollback_paused, rollback_completed. */
  updateState?: string;
  updateMessage?: string;
  /** The image reference in the spec. */
  image: string;
  /** Whether the swarm keeps a previous spec to roll back to. */
  hasPrevious: boolean;
  /** The secret names its current and previous spec use. */
  secretNames: string[];
  details: ServiceDetails;
}

export interface ObservedSwarmApp {
  app: string;
  services: ObservedService[];
  network?: { id: string; name: string };
  secrets: { id: string; name: string }[];
}

/** A service as hln reads it; pure. */
export function observedService(s: ServiceDetails): ObservedService {
  const own = s.Spec.Labels ?? {};
  const mode = s.Spec.Mode;
  const secretNames = [s.Spec, s.PreviousSpec].flatMap(
    (spec) => spec?.TaskTemplate.ContainerSpec.Secrets?.map((x) => x.SecretName) ?? [],
  );
  return {
    id: s.ID,
    name: s.Spec.Name,
    service: own[labels.service] ?? "",
    kind: own[labels.kind] === "job" ? "job" : "service",
    configHash: own[labels.configHash] ?? "",
    labels: own,
    version: s.Version.Index,
    replicas: "Replicated" in mode ? mode.Replicated.Replicas : mode.ReplicatedJob.TotalCompletions,
    running: s.ServiceStatus?.RunningTasks ?? 0,
    ...(s.UpdateStatus?.State ? { updateState: s.UpdateStatus.State } : {}),
    ...(s.UpdateStatus?.Message ? { updateMessage: s.UpdateStatus.Message } : {}),
    image: s.Spec.TaskTemplate.ContainerSpec.Image,
    hasPrevious: s.PreviousSpec !== undefined,
    secretNames: [...new Set(secretNames)].sort(),
    details: s,
  };
}

export async function observeSwarmApp(
  docker: DockerClient,
  app: string,
  signal?: AbortSignal,
): Promise<ObservedSwarmApp> {
  const filter = [`${labels.app}=${app}`];
  const [services, networks, secrets] = await Promise.all([
    listServices(docker, { labels: filter, signal }),
    listNetworks(docker, { labels: filter, signal }),
    listSecrets(docker, { labels: filter, signal }),
  ]);
  const network = networks.find((n) => n.Name === networkName(app));
  return {
    app,
    services: services
      .map(observedService)
      .filter((s) => s.service !== "")
      .sort((a, b) => a.service.localeCompare(b.service)),
    ...(network ? { network: { id: network.Id, name: network.Name } } : {}),
    secrets: secrets
      .map((s) => ({ id: s.ID, name: s.Spec.Name }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
