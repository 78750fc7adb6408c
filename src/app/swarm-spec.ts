/**
 * What one service becomes on a swarm: a service spec with the same labels a container
 * gets on one engine (so the same plan reasons apply), its image pinned by digest, its
 * secrets as swarm secrets named by their keyed fingerprint, and an update policy that
 * starts the new task before it stops the old one unless that would be unsafe.
 */
import { basename } from "node:path";
import type { ServiceSpec, UpdateConfig } from "../docker/services.js";
import { labels, volumeName } from "./names.js";
import {
  type ConfigParts,
  configHash,
  configParts,
  type DesiredService,
  digest,
} from "./service-config.js";

/** Docker's duration unit. */
const ns = (ms: number) => ms * 1_000_000;

/** How long a new task is watched after it runs (healthy, when it has a check) before the next. */
export const monitorMs = 5000;

/**
 * The swarm secret a service's secret file comes from. A swarm secret cannot change, so
 * its name carries the value's keyed fingerprint: a new value is a new secret, and the
 * name tells nothing of the value without this machine's key. At most 64 characters.
 */
export function secretName(app: string, path: string, fingerprint: string): string {
  const slug =
    basename(path)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "secret";
  const suffix = `-${fingerprint.replace(/[^a-f0-9]/gi, "").slice(0, 12)}`;
  return `${`hln-${app}-${slug}`.slice(0, 64 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/**
 * Start-first unless the stack says otherwise, or the service mounts an app volume: two
 * tasks of a database on one data directory, even for seconds, can corrupt it.
 */
export function updateOrder(d: DesiredService, mesh: boolean): "start-first" | "stop-first" {
  const asked = d.spec.update?.order;
  if (asked) return asked;
  // A port published on the node itself is held by the old task until it stops.
  if (!mesh && d.spec.ports.length > 0) return "stop-first";
  return d.spec.volumes.some((v) => "volume" in v.source) ? "stop-first" : "start-first";
}

/**
 * A pause after each stop-first batch: the swarm moves on as soon as a new task has started
 * or ended, and counts a new task that ended (a broken image) as a failure a moment later,
 * so without it a second old task is stopped for a new one that cannot run.
 */
export const stopFirstDelayMs = 2000;

export function updateConfig(d: DesiredService, mesh: boolean): UpdateConfig {
  const u = d.spec.update ?? {};
  const order = updateOrder(d, mesh);
  return {
    Parallelism: u.parallelism ?? 1,
    Delay: ns(u.delayMs ?? (order === "stop-first" ? stopFirstDelayMs : 0)),
    FailureAction: u.failureAction ?? "rollback",
    Monitor: ns(monitorMs),
    MaxFailureRatio: 0,
    Order: order,
  };
}

/**
 * How a swarm's services are reached. With the mesh (Docker's default), each service has a
 * virtual IP and its published ports answer on every node; both need the kernel's IPVS.
 * Without it, a service's name resolves to its tasks' addresses (DNS round robin) and a
 * port is published on the node that runs the task.
 */
export interface SwarmNetworking {
  mesh: boolean;
}

/** The parts of a swarm service: those of a container, plus what only a swarm has. */
export function swarmConfigParts(d: DesiredService, mesh: boolean): ConfigParts {
  const s = d.spec;
  const base = configParts(d);
  return {
    ...base,
    ports: mesh ? base.ports : digest([s.ports, "host"]),
    replicas: String(s.kind === "job" ? 1 : (s.replicas ?? 1)),
    update: digest(s.kind === "job" ? null : updateConfig(d, mesh)),
    placement: digest(s.placement ?? []),
  };
}

const restartCondition = {
  no: "none",
  "on-failure": "on-failure",
  always: "any",
  "unless-stopped": "any",
} as const;

/**
 * The spec of `POST /services/create` (or an update). `image` is the reference every node
 * pulls, pinned by digest; `network` the app's overlay network's ID; `secretIds` the swarm
 * secret ID of each secret name.
 */
export function serviceSpec(
  app: string,
  d: DesiredService,
  o: {
    image: string;
    network: string;
    secretIds: ReadonlyMap<string, string>;
    extraLabels: Record<string, string>;
    mesh: boolean;
  },
): ServiceSpec {
  const s = d.spec;
  const { mesh } = o;
  const parts = swarmConfigParts(d, mesh);
  const hc = s.healthcheck;
  const job = s.kind === "job";
  return {
    Name: `hln-${app}-${s.name}`,
    Labels: {
      ...o.extraLabels,
      [labels.app]: app,
      [labels.service]: s.name,
      [labels.kind]: s.kind,
      [labels.configHash]: configHash(parts),
      [labels.config]: JSON.stringify(parts),
    },
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        ...(s.entrypoint ? { Command: s.entrypoint } : {}),
        ...(s.command ? { Args: s.command } : {}),
        Env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
        ...(s.user !== undefined ? { User: s.user } : {}),
        ...(s.workdir !== undefined ? { Dir: s.workdir } : {}),
        ...(hc
          ? {
              Healthcheck: {
                Test: hc.test,
                ...(hc.intervalMs !== undefined ? { Interval: ns(hc.intervalMs) } : {}),
                ...(hc.timeoutMs !== undefined ? { Timeout: ns(hc.timeoutMs) } : {}),
                ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
                ...(hc.startPeriodMs !== undefined ? { StartPeriod: ns(hc.startPeriodMs) } : {}),
              },
            }
          : {}),
        Mounts: s.volumes.map((v) =>
          "volume" in v.source
            ? {
                Type: "volume" as const,
                Source: volumeName(app, v.source.volume),
                Target: v.path,
                ReadOnly: v.readOnly,
                VolumeOptions: {
                  Labels: { [labels.app]: app, [labels.volume]: v.source.volume },
                },
              }
            : {
                Type: "bind" as const,
                Source: v.source.hostPath,
                Target: v.path,
                ReadOnly: v.readOnly,
              },
        ),
        Secrets: s.secrets.map(({ path }) => {
          const name = secretName(app, path, d.secretFingerprints[path] ?? "");
          return {
            File: { Name: path, UID: "0", GID: "0", Mode: 0o444 },
            SecretID: o.secretIds.get(name) ?? "",
            SecretName: name,
          };
        }),
      },
      RestartPolicy: { Condition: job ? "none" : restartCondition[s.restart] },
      Placement: {
        Constraints: [...(s.placement ?? [])],
        // Two tasks on one node cannot both hold a port published there.
        ...(!mesh && s.ports.length > 0 ? { MaxReplicas: 1 } : {}),
      },
      Networks: [{ Target: o.network, Aliases: [s.name] }],
    },
    Mode: job
      ? { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } }
      : { Replicated: { Replicas: s.replicas ?? 1 } },
    ...(job
      ? {}
      : {
          UpdateConfig: updateConfig(d, mesh),
          RollbackConfig: { ...updateConfig(d, mesh), FailureAction: "pause" as const },
        }),
    EndpointSpec: {
      Mode: mesh ? "vip" : "dnsrr",
      Ports: s.ports.map((p) => ({
        Protocol: p.protocol,
        TargetPort: p.container,
        PublishedPort: p.host,
        PublishMode: mesh ? ("ingress" as const) : ("host" as const),
      })),
    },
  };
}

/** The secret names a service needs, each with where its value comes from. */
export function secretsOf(
  app: string,
  d: DesiredService,
): { name: string; path: string; fingerprint: string }[] {
  return d.spec.secrets.map(({ path }) => {
    const fingerprint = d.secretFingerprints[path] ?? "";
    return { name: secretName(app, path, fingerprint), path, fingerprint };
  });
}
