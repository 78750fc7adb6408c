/**
 * A DesiredService as the plan and swarm-spec tests need it: a declared service with every
 * field at the default the stack loader gives it, and an image named after the service so
 * two services never share one by accident.
 */
import type { Container } from "../../sdk/container.js";
import type { DeclaredService } from "../../stack/app-spec.js";
import type { DesiredService } from "../service-config.js";

/** A long-running service named `name`; `over` replaces any declared field. */
export function desiredService(name: string, over: Partial<DeclaredService> = {}): DesiredService {
  return {
    spec: {
      name,
      kind: "service",
      container: {} as Container,
      env: {},
      secrets: [],
      ports: [],
      volumes: [],
      dependsOn: [],
      restart: "unless-stopped",
      replicas: 1,
      placement: [],
      ...over,
    },
    image: { id: `sha256:${name}`, configDigest: `sha256:config-${name}` },
    secretFingerprints: {},
  };
}

/** A job: runs once to completion, never restarted. */
export const desiredJob = (name: string, over: Partial<DeclaredService> = {}): DesiredService =>
  desiredService(name, { kind: "job", restart: "no", ...over });

/** Port 80 in the container published on 127.0.0.1:8080. */
export const loopbackPort = {
  host: 8080,
  container: 80,
  ip: "127.0.0.1",
  protocol: "tcp" as const,
};

/** A named volume mounted read-write at /data. */
export const dataVolume = { path: "/data", source: { volume: "data" }, readOnly: false };
