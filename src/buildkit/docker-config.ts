/**
 * Registry credentials from the Docker CLI's config file, as `docker login` leaves them.
 * The facts used (docker/cli cli/config/configfile, docker/docker-credential-helpers):
 * - the file is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
 * - `auths[key]` holds `auth` (base64 of `user:password`), or `username` / `password`, or
 *   `identitytoken` (an OAuth refresh token, sent with no user name);
 * - `credHelpers[host]` names a helper for one registry, `credsStore` one for all; a helper
 *   is the program `docker-credential-<name>`, run as `get` with the server URL on stdin,
 *   answering JSON `{ServerURL, Username, Secret}`, or failing with "credentials not found";
 *   a `Username` of `<token>` means `Secret` is an identity token;
 * - Docker Hub's key is `https://index.docker.io/v1/`; BuildKit asks for `registry-1.docker.io`.
 */
import { spawn } from "node:child_process";
import { readFile as fsReadFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { HlnError } from "../errors.js";

/** The part of `config.json` that concerns registry credentials. */
export interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** What a registry is sent. Both empty means anonymous. */
export interface RegistryCredentials {
  username: string;
  /** The password, or an identity token when `username` is empty. */
  secret: string;
}

/** Where credentials for a host came from. */
export type CredentialsSource = "credHelper" | "credsStore" | "config" | "none";

/** Runs `docker-credential-<helper> get` for `serverUrl`; undefined when it has nothing. */
export type CredentialHelperRunner = (
  helper: string,
  serverUrl: string,
  options: { signal?: AbortSignal },
) => Promise<RegistryCredentials | undefined>;

/** The config key (and helper server URL) Docker uses for Docker Hub. */
export const DOCKER_HUB_SERVER = "https://index.docker.io/v1/";

const HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The path of the Docker CLI config file for `env` and `home`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  const dir = env.DOCKER_CONFIG;
  return dir ? join(dir, "config.json") : join(home, ".docker", "config.json");
}

/**
 * Reads and parses the config file at `path`. A missing file is an empty config (no
 * credentials: every registry is anonymous); an unreadable or malformed one is an error.
 */
export async function loadDockerConfig(
  path: string,
  readFile: (path: string) => Promise<string> = (p) => fsReadFile(p, "utf8"),
): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new HlnError(
      "E_INPUT_INVALID",
      `cannot read Docker config ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
  } catch (err) {
    throw new HlnError(
      "E_INPUT_INVALID",
      `Docker config ${path} is not valid JSON: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HlnError("E_INPUT_INVALID", `Docker config ${path} is not a JSON object`);
  }
  const o = parsed as Record<string, unknown>;
  const config: DockerConfig = {};
  if (isRecord(o.auths)) {
    config.auths = {};
    for (const [k, v] of Object.entries(o.auths)) if (isRecord(v)) config.auths[k] = authEntry(v);
  }
  if (isRecord(o.credHelpers)) {
    config.credHelpers = {};
    for (const [k, v] of Object.entries(o.credHelpers)) {
      if (typeof v === "string" && v !== "") config.credHelpers[k] = v;
    }
  }
  if (typeof o.credsStore === "string" && o.credsStore !== "") config.credsStore = o.credsStore;
  return config;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function authEntry(v: Record<string, unknown>): DockerAuthEntry {
  const e: DockerAuthEntry = {};
  for (const k of ["auth", "username", "password", "identitytoken"] as const) {
    if (typeof v[k] === "string") e[k] = v[k];
  }
  return e;
}

/**
 * The host part of a registry address or config key, lowercased: `https://Host:5000/v1/`
 * => `host:5000`. Docker Hub's aliases all become `docker.io`.
 */
export function registryHostKey(address: string): string {
  let h = address.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = h.indexOf("/");
  if (slash !== -1) h = h.slice(0, slash);
  h = h.toLowerCase();
  return HUB_HOSTS.has(h) ? "docker.io" : h;
}

/** The server URL a credential helper is asked about for `host` (as BuildKit names it). */
export function helperServerUrl(host: string): string {
  return registryHostKey(host) === "docker.io" ? DOCKER_HUB_SERVER : host;
}

/**
 * The keys of `record` that name `host`, best first: the exact spelling, then Docker Hub's
 * canonical key, then any other spelling of the same host (`https://host`, `host/v1/`...)
 * in sorted order.
 */
export function matchingKeys(record: Record<string, unknown> | undefined, host: string): string[] {
  if (!record) return [];
  const want = registryHostKey(host);
  const keys = Object.keys(record)
    .filter((k) => registryHostKey(k) === want)
    .sort();
  const rank = (k: string) => (k === host ? 0 : k === DOCKER_HUB_SERVER ? 1 : 2);
  return keys.sort((a, b) => rank(a) - rank(b));
}

/** Credentials written in the config file itself, or undefined when the entry has none. */
export function inlineCredentials(
  entry: DockerAuthEntry,
  where: string,
): RegistryCredentials | undefined {
  if (entry.identitytoken) return { username: "", secret: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) {
      throw new HlnError("E_INPUT_INVALID", `${where}: "auth" is not base64 of user:password`);
    }
    return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  if (entry.username || entry.password) {
    return { username: entry.username ?? "", secret: entry.password ?? "" };
  }
  return undefined;
}

/**
 * Credentials for registry `host` (as BuildKit sends it: `registry-1.docker.io`,
 * `ghcr.io`, `127.0.0.1:5000`), looked up in this order:
 * 1. `credHelpers` entry for the host;
 * 2. `credsStore`, asked for the host and for each spelling of it under `auths`;
 * 3. an inline `auths` entry. The Docker CLI stops at the store; falling back to the file
 *    keeps a config that mixes both (a store carried over from another machine) working.
 * A host found nowhere gets empty credentials: the registry is used anonymously.
 */
export async function lookupCredentials(
  config: DockerConfig,
  host: string,
  options: { runHelper: CredentialHelperRunner; configPath: string; signal?: AbortSignal },
): Promise<{ credentials: RegistryCredentials; source: CredentialsSource }> {
  const server = helperServerUrl(host);
  const helperKey = matchingKeys(config.credHelpers, host)[0];
  const helper = helperKey === undefined ? undefined : config.credHelpers?.[helperKey];
  const authKeys = matchingKeys(config.auths, host);
  const ask = { signal: options.signal };
  if (helper !== undefined) {
    const c = await options.runHelper(helper, server, ask);
    if (c) return { credentials: c, source: "credHelper" };
  } else if (config.credsStore !== undefined) {
    for (const url of [...new Set([server, ...authKeys])]) {
      const c = await options.runHelper(config.credsStore, url, ask);
      if (c) return { credentials: c, source: "credsStore" };
    }
  }
  for (const key of authKeys) {
    const c = inlineCredentials(
      config.auths![key]!,
      `${options.configPath}: auths[${JSON.stringify(key)}]`,
    );
    if (c) return { credentials: c, source: "config" };
  }
  return { credentials: { username: "", secret: "" }, source: "none" };
}

export interface HelperRunnerOptions {
  /** Environment of the helper; its PATH is where `docker-credential-*` is found. */
  env: NodeJS.ProcessEnv;
  /** How long a helper may take. Default 30000 ms (a keychain may ask the user to unlock). */
  timeoutMs?: number;
}

/** The real runner: spawns `docker-credential-<helper> get`. */
export function spawnCredentialHelper(o: HelperRunnerOptions): CredentialHelperRunner {
  const timeoutMs = o.timeoutMs ?? 30_000;
  return (helper, serverUrl, { signal }) =>
    new Promise((resolve, reject) => {
      const program = `docker-credential-${helper}`;
      const fail = (message: string, cause?: unknown) =>
        reject(new HlnError("E_INPUT_INVALID", message, { cause }));
      let child: ReturnType<typeof spawn>;
      try {
        // With `env` given, spawn looks the program up on env.PATH.
        child = spawn(program, ["get"], { env: o.env, stdio: ["pipe", "pipe", "pipe"], signal });
      } catch (err) {
        fail(`credential helper ${program}: ${(err as Error).message}`, err);
        return;
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      // Set once the promise is settled (answer, bound, signal, spawn failure); what the
      // child does after that changes nothing.
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      // A grandchild (`sleep`, a prompt, an agent the helper started) may hold the pipes
      // open after the helper exited; "close" would wait for it, and so would this
      // process. Let go of them.
      const letGo = () => {
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
      };
      const stop = () => {
        child.kill("SIGKILL");
        letGo();
      };
      const timer = setTimeout(() => {
        settled = true;
        stop();
        fail(`credential helper ${program} did not answer within ${timeoutMs} ms`);
      }, timeoutMs);
      child.stdout?.on("data", (b: Buffer) => stdout.push(b));
      child.stderr?.on("data", (b: Buffer) => stderr.push(b));
      // The helper may exit without reading stdin.
      child.stdin?.on("error", () => {});
      child.stdin?.end(serverUrl);
      child.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        clearTimeout(grace);
        settled = true;
        if (err.code === "ENOENT") {
          fail(
            `credential helper ${program} not found on PATH (named by the Docker config for ${serverUrl})`,
            err,
          );
        } else if (err.name === "AbortError") {
          stop();
          reject(new HlnError("E_ABORTED", "cancelled", { cause: err }));
        } else {
          fail(`credential helper ${program}: ${err.message}`, err);
        }
      });
      // The answer is complete once the helper exited: what it wrote is in the pipes,
      // read within moments. Only a pipe some grandchild still holds outlasts the grace.
      child.on("exit", (code, sig) => {
        grace = setTimeout(() => {
          letGo();
          finish(code, sig);
        }, 500);
      });
      child.on("close", (code, sig) => finish(code, sig));
      const finish = (code: number | null, sig: NodeJS.Signals | null) => {
        clearTimeout(timer);
        clearTimeout(grace);
        if (settled) return;
        settled = true;
        const out = Buffer.concat(stdout).toString("utf8").trim();
        const errText = Buffer.concat(stderr).toString("utf8").trim();
        if (code === null) {
          // Not our kill (that settles first): the helper crashed or someone killed it.
          fail(`credential helper ${program} was killed by ${sig ?? "a signal"}`);
          return;
        }
        if (code !== 0) {
          // docker-credential-helpers prints this when the store has no entry.
          if (/credentials not found/i.test(`${out}\n${errText}`)) {
            resolve(undefined);
            return;
          }
          const why = firstLine(errText || out) || `exit code ${code}`;
          fail(`credential helper ${program} failed for ${serverUrl}: ${why}`);
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(out);
        } catch (err) {
          // Never echo the output: it may hold the secret.
          fail(`credential helper ${program} answered something that is not JSON`, err);
          return;
        }
        const p = isRecord(parsed) ? parsed : {};
        const username = typeof p.Username === "string" ? p.Username : "";
        const secret = typeof p.Secret === "string" ? p.Secret : "";
        if (username === "" && secret === "") resolve(undefined);
        else if (username === "<token>") resolve({ username: "", secret });
        else resolve({ username, secret });
      };
    });
}

function firstLine(s: string): string {
  const line = s.split("\n", 1)[0]!.trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
