/**
 * What one service becomes on the Docker engine: the container's settings, the labels
 * that let a later run recognise them, and the reasons a container no longer matches.
 * Secret values never enter any of it; a secret is known here only by its keyed
 * fingerprint, which says nothing about the value without this machine's key.
 */
import { createHash } from "node:crypto";
import type { DeclaredService } from "../stack/app-spec.js";
import { labels, networkName, volumeName } from "./names.js";

/** A declared service with what converge learned about it: its image and secret fingerprints. */
export interface DesiredService {
  spec: DeclaredService;
  /**
   * `id` is the image's ID on the deploy engine ("" in a dry run), `tag` the name hln gave
   * it there (`hln/APP/SERVICE:<short id>`), `configDigest` names its content.
   */
  image: { id: string; configDigest: string; tag?: string };
  /** Keyed fingerprint of each secret file's value, by path in the container. */
  secretFingerprints: Record<string, string>;
}

/**
 * Each setting that makes a container what it is, reduced to a short digest, so a later
 * run can say which of them changed. Kept on the container as a label.
 */
export interface ConfigParts {
  image: string;
  env: Record<string, string>;
  secrets: Record<string, string>;
  ports: string;
  volumes: string;
  command: string;
  entrypoint: string;
  user: string;
  workdir: string;
  healthcheck: string;
  restart: string;
  /** Swarm only: a single engine runs one container and has no update or placement. */
  replicas?: string;
  update?: string;
  placement?: string;
}

export function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
}

export function configParts(d: DesiredService): ConfigParts {
  const s = d.spec;
  return {
    image: d.image.configDigest,
    env: Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, digest([k, v])])),
    secrets: { ...d.secretFingerprints },
    ports: digest(s.ports),
    volumes: digest(s.volumes.map((v) => [v.path, v.source, v.readOnly])),
    command: digest(s.command ?? null),
    entrypoint: digest(s.entrypoint ?? null),
    user: digest(s.user ?? null),
    workdir: digest(s.workdir ?? null),
    healthcheck: digest(s.healthcheck ?? null),
    restart: digest(s.restart),
  };
}

/** One digest over every part: equal hashes mean the container needs nothing done. */
export function configHash(parts: ConfigParts): string {
  const sorted = (r: Record<string, string>) =>
    Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash("sha256")
    .update(JSON.stringify({ ...parts, env: sorted(parts.env), secrets: sorted(parts.secrets) }))
    .digest("hex");
}

/** Reads the parts a container was made with; undefined when its label is missing or foreign. */
export function readConfigParts(text: string | undefined): ConfigParts | undefined {
  if (!text) return undefined;
  try {
    const parts = JSON.parse(text) as ConfigParts;
    return typeof parts === "object" && parts !== null && typeof parts.image === "string"
      ? parts
      : undefined;
  } catch {
    return undefined;
  }
}

/** Why a container made with `before` must be replaced to become `after`, one phrase each. */
export function changedParts(before: ConfigParts | undefined, after: ConfigParts): string[] {
  if (!before) return ["settings changed"];
  const reasons: string[] = [];
  if (before.image !== after.image) reasons.push("image changed");
  reasons.push(...keyed("env", before.env ?? {}, after.env));
  reasons.push(...keyed("secret", before.secrets ?? {}, after.secrets));
  for (const k of [
    "ports",
    "volumes",
    "command",
    "entrypoint",
    "user",
    "workdir",
    "healthcheck",
    "restart",
    "replicas",
    "update",
    "placement",
  ] as const)
    if (before[k] !== after[k])
      reasons.push(
        k === "replicas" && before[k] && after[k]
          ? `replicas ${before[k]} → ${after[k]}`
          : `${k === "update" ? "update settings" : k} changed`,
      );
  return reasons.length > 0 ? reasons : ["settings changed"];
}

function keyed(what: string, before: Record<string, string>, after: Record<string, string>) {
  const out: string[] = [];
  for (const k of Object.keys(after).sort())
    if (!(k in before)) out.push(`${what} ${k} added`);
    else if (before[k] !== after[k]) out.push(`${what} ${k} changed`);
  for (const k of Object.keys(before).sort()) if (!(k in after)) out.push(`${what} ${k} removed`);
  return out;
}

/** Container ports that speak HTTP by convention, shown as a URL once published. */
const httpPorts = new Set([80, 3000, 4000, 5000, 5173, 8000, 8080, 8081, 8888, 9000]);
const httpsPorts = new Set([443, 8443]);

/**
 * How a published port is reached from the engine's host: a URL for HTTP ports, else
 * ip:port/proto. A port bound on every address is reached on 127.0.0.1.
 */
export function publishedAddress(p: {
  ip: string;
  host: number;
  container: number;
  protocol: string;
}): string {
  const ip = p.ip === "0.0.0.0" || p.ip === "::" || p.ip === "" ? "127.0.0.1" : p.ip;
  const host = ip.includes(":") ? `[${ip}]` : ip;
  if (p.protocol === "tcp" && httpPorts.has(p.container)) return `http://${host}:${p.host}`;
  if (p.protocol === "tcp" && httpsPorts.has(p.container)) return `https://${host}:${p.host}`;
  return `${host}:${p.host}/${p.protocol}`;
}

/** Docker's duration unit. */
const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1_000_000);

/**
 * The body of `POST /containers/create` for a service. Ports publish on the address the
 * stack gave (127.0.0.1 by default); the container joins the app's network under its
 * service name.
 */
export function createBody(
  app: string,
  d: DesiredService,
  extraLabels: Record<string, string>,
): Record<string, unknown> {
  const s = d.spec;
  const parts = configParts(d);
  const network = networkName(app);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of s.ports) {
    const key = `${p.container}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostIp: p.ip, HostPort: String(p.host) }];
  }
  const hc = s.healthcheck;
  return {
    // By name, so `docker ps` and `hln status` show which service's image it is.
    Image: d.image.tag || d.image.id,
    Env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
    ...(s.command ? { Cmd: s.command } : {}),
    ...(s.entrypoint ? { Entrypoint: s.entrypoint } : {}),
    ...(s.user !== undefined ? { User: s.user } : {}),
    ...(s.workdir !== undefined ? { WorkingDir: s.workdir } : {}),
    ExposedPorts: exposed,
    ...(hc
      ? {
          Healthcheck: {
            Test: hc.test,
            Interval: ns(hc.intervalMs),
            Timeout: ns(hc.timeoutMs),
            Retries: hc.retries,
            StartPeriod: ns(hc.startPeriodMs),
          },
        }
      : {}),
    Labels: {
      ...extraLabels,
      [labels.app]: app,
      [labels.service]: s.name,
      [labels.kind]: s.kind,
      [labels.configHash]: configHash(parts),
      [labels.config]: JSON.stringify(parts),
    },
    HostConfig: {
      NetworkMode: network,
      PortBindings: bindings,
      RestartPolicy: { Name: s.restart },
      Mounts: s.volumes.map((v) =>
        "volume" in v.source
          ? {
              Type: "volume",
              Source: volumeName(app, v.source.volume),
              Target: v.path,
              ReadOnly: v.readOnly,
            }
          : { Type: "bind", Source: v.source.hostPath, Target: v.path, ReadOnly: v.readOnly },
      ),
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [s.name] } } },
  };
}
