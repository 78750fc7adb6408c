/**
 * The names and labels hln gives what it creates for an app on a Docker engine. The
 * labels are how every later command (from any machine) finds the app again.
 */
/** The labels on every container, network and volume of an app. */
export const labels = {
  app: "dev.hln.app",
  service: "dev.hln.service",
  kind: "dev.hln.kind",
  configHash: "dev.hln.config-hash",
  config: "dev.hln.config",
  stack: "dev.hln.stack",
  volume: "dev.hln.volume",
} as const;

export function networkName(app: string): string {
  return `hln-${app}`;
}

export function containerName(app: string, service: string): string {
  return `hln-${app}-${service}`;
}

export function volumeName(app: string, volume: string): string {
  return `hln-${app}-${volume}`;
}

/** The repository hln tags an app's service images with: `hln/APP/SERVICE`. */
export function imageRepository(app: string, service: string): string {
  return `hln/${app}/${service}`;
}

/** The pattern Docker's `reference` filter matches all of an app's image tags with. */
export function imagesOf(app: string): string {
  return `hln/${app}/*`;
}
