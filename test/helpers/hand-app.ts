/**
 * An app set up by hand on the real engine, the way `hln up` lays one out (containers
 * hln-APP-SERVICE with hln's labels, network hln-APP, volumes hln-APP-VOLUME), so status,
 * logs and down are tested without converge. Every name carries a nonce; `cleanup`
 * removes whatever is left, even after a failed test.
 */
import { createDockerClient, type DockerClient } from "../../src/docker/client.js";
import {
  createContainer,
  listContainers,
  removeContainer,
  startContainer,
  waitContainer,
} from "../../src/docker/containers.js";
import { listImages, tagImage, untagImage } from "../../src/docker/images.js";
import { createNetwork, listNetworks, removeNetwork } from "../../src/docker/networks.js";
import { createVolume, listVolumes, removeVolume } from "../../src/docker/volumes.js";
import { dialerForDockerHost } from "../../src/engine/dial-docker-host.js";
import { nonce } from "./engine.js";

export function localDocker(): DockerClient {
  return createDockerClient(dialerForDockerHost("unix:///var/run/docker.sock"));
}

/** A shell that ends at once on SIGTERM (PID 1 ignores it otherwise), so removal never waits 10 s. */
export function idle(script: string): string[] {
  return ["sh", "-c", `trap 'exit 0' TERM; ${script}; sleep 3600 & wait`];
}

export interface HandService {
  service: string;
  kind?: "service" | "job";
  cmd: string[];
  /** Published on 127.0.0.1: host port -> container port. */
  ports?: { host: number; container: number }[];
  healthcheck?: { Test: string[]; Interval: number; Retries: number };
  /** Mounts the app's volume `data` here. */
  volumeAt?: string;
  /** Start it (default) and, for a job, wait for its end. */
  start?: boolean;
}

export class HandApp {
  readonly app = `t${nonce()}`;
  readonly network = `hln-${this.app}`;
  readonly volume = `hln-${this.app}-data`;
  readonly ids = new Map<string, string>();

  constructor(readonly docker: DockerClient) {}

  labels(): Record<string, string> {
    return { "dev.hln.app": this.app };
  }

  async create(services: readonly HandService[], o: { volume?: boolean } = {}): Promise<void> {
    await createNetwork(this.docker, this.network, this.labels());
    if (o.volume !== false)
      await createVolume(this.docker, this.volume, { ...this.labels(), "dev.hln.volume": "data" });
    for (const s of services) await this.add(s);
  }

  /** Creates (and starts) one container of the app; a second one of a service replaces the first's name. */
  async add(s: HandService): Promise<string> {
    const kind = s.kind ?? "service";
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    const exposed: Record<string, object> = {};
    for (const p of s.ports ?? []) {
      bindings[`${p.container}/tcp`] = [{ HostIp: "127.0.0.1", HostPort: String(p.host) }];
      exposed[`${p.container}/tcp`] = {};
    }
    const name = `hln-${this.app}-${s.service}`;
    const old = this.ids.get(s.service);
    if (old) await removeContainer(this.docker, old, { force: true });
    const id = await createContainer(this.docker, name, {
      Image: "busybox:latest",
      Cmd: s.cmd,
      Labels: {
        ...this.labels(),
        "dev.hln.service": s.service,
        "dev.hln.kind": kind,
        "dev.hln.config-hash": nonce(),
        "dev.hln.stack": "hand@0.0.1",
      },
      ExposedPorts: exposed,
      ...(s.healthcheck ? { Healthcheck: s.healthcheck } : {}),
      HostConfig: {
        NetworkMode: this.network,
        PortBindings: bindings,
        ...(s.volumeAt
          ? { Mounts: [{ Type: "volume", Source: this.volume, Target: s.volumeAt }] }
          : {}),
      },
    });
    this.ids.set(s.service, id);
    if (s.start !== false) {
      await startContainer(this.docker, id);
      if (kind === "job") await waitContainer(this.docker, id);
    }
    return id;
  }

  /** Gives busybox the tag hln gives an image it built for a service. */
  async tagImage(service: string): Promise<string> {
    const tag = nonce();
    await tagImage(this.docker, "busybox:latest", `hln/${this.app}/${service}`, tag);
    return `hln/${this.app}/${service}:${tag}`;
  }

  async cleanup(): Promise<void> {
    const labels = [`dev.hln.app=${this.app}`];
    for (const c of await listContainers(this.docker, { labels, all: true }))
      await removeContainer(this.docker, c.Id, { force: true });
    for (const n of await listNetworks(this.docker, { labels }))
      await removeNetwork(this.docker, n.Id);
    for (const v of await listVolumes(this.docker, { labels }))
      await removeVolume(this.docker, v.Name);
    for (const i of await listImages(this.docker, { reference: `hln/${this.app}/*` }))
      for (const t of i.RepoTags ?? []) await untagImage(this.docker, t);
  }
}
