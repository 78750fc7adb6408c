/**
 * A throwaway OCI distribution registry (v2) on a loopback port (or another local address),
 * for tests that push and pull. It runs Debian's `docker-registry` binary, which `bash scripts/test-deps.sh`
 * installs, with filesystem storage in a temporary directory and, when asked, htpasswd
 * (bcrypt) basic auth.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { waitReady } from "./wait-ready.js";

export interface TestRegistry {
  /** `ADDRESS:PORT` (`127.0.0.1:PORT` by default), the host part of image references pushed to it. */
  readonly host: string;
  /** Stops the registry and deletes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** Require HTTP basic auth with this user. Default: no auth. */
  auth?: { username: string; password: string };
  /**
   * The local IPv4 address it listens on. Default 127.0.0.1; the swarm tests use the
   * remote host's veth address (10.201.0.1), which both engines reach.
   */
  listen?: string;
}

const SETUP_HINT =
  "run `bash scripts/test-deps.sh` as root to install docker-registry and apache2-utils";

/** The registry binary: Debian's docker-registry package puts it on /usr/bin. */
function registryBinary(): string {
  for (const p of ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]) {
    if (existsSync(p)) return p;
  }
  throw new Error(
    `registry tests need the docker-registry binary, which is not installed: ${SETUP_HINT}`,
  );
}

function htpasswdLine(username: string, password: string): string {
  // The registry only accepts bcrypt entries.
  const r = spawnSync("htpasswd", ["-Bbn", username, password], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim();
    throw new Error(`htpasswd failed (${why}): ${SETUP_HINT}`);
  }
  return r.stdout.trim();
}

/**
 * Starts a registry and resolves once `GET /v2/` answers (200, or 401 with auth).
 *
 * @example
 * const reg = await startRegistry({ auth: { username: "u", password: "p" } });
 * try { push(`${reg.host}/x/y:tag`) } finally { await reg.stop() }
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const bin = registryBinary();
  const dir = await mkdtemp(join(tmpdir(), "hln-registry-"));
  try {
    let authYaml = "";
    if (options.auth) {
      await writeFile(
        join(dir, "htpasswd"),
        `${htpasswdLine(options.auth.username, options.auth.password)}\n`,
      );
      authYaml = `auth:\n  htpasswd:\n    realm: hln-test\n    path: ${join(dir, "htpasswd")}\n`;
    }
    // The port is free when chosen, but another process may take it before the registry
    // binds; then the registry exits at once and we try another.
    let lastError = "";
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const host = `${options.listen ?? "127.0.0.1"}:${port}`;
      const config = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(dir, "data")}`,
        "  delete:",
        "    enabled: true",
        "http:",
        `  addr: ${host}`,
        `  secret: hln-test-${port}`,
        authYaml,
      ].join("\n");
      const configPath = join(dir, "config.yml");
      await writeFile(configPath, config);
      const child = spawn(bin, ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (s: string) => {
        stderr = (stderr + s).slice(-4000);
      });
      const exited = new Promise<number | null>((resolve) =>
        child.once("exit", (code) => resolve(code)),
      );
      child.once("error", () => {});
      // /v2/ answers 401 when the registry wants credentials, 200 when it does not.
      const expected = options.auth !== undefined ? 401 : 200;
      const ready = await waitReady(
        `http://${host}/v2/`,
        (status) => status === expected,
        exited,
        15_000,
        50,
      );
      if (ready) {
        let stopping: Promise<void> | undefined;
        return {
          host,
          stop() {
            stopping ??= (async () => {
              if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGTERM");
                const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
                await exited;
                clearTimeout(timer);
              }
              await rm(dir, { recursive: true, force: true });
            })();
            return stopping;
          },
        };
      }
      child.kill("SIGKILL");
      await exited;
      lastError = stderr.trim().split("\n").slice(-3).join(" | ") || "no output";
      if (!/address already in use/i.test(stderr)) break;
    }
    throw new Error(`docker-registry did not start: ${lastError}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
