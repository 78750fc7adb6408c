/**
 * ConfigParts as the dev.hln.config label carries them, with a short placeholder for each
 * digest, for tests that compare two specs' labels (rollback's reasons) and need only the
 * parts they set to differ.
 */
import type { ConfigParts } from "../service-config.js";

/** Placeholder parts whose env is GREETING (a digest "d1"); `over` replaces any part. */
export function sampleParts(over: Partial<ConfigParts> = {}): ConfigParts {
  return {
    image: "sha256:aa",
    env: { GREETING: "d1" },
    secrets: {},
    ports: "p",
    volumes: "v",
    command: "c",
    entrypoint: "e",
    user: "u",
    workdir: "w",
    healthcheck: "h",
    restart: "r",
    ...over,
  };
}
