/**
 * BuildKit addresses as buildctl takes them (BUILDKIT_HOST, `--addr`), and the TLS
 * settings that go with `tcp://`, named after buildctl's flags and files.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HlnError, shownSetting } from "../errors.js";
import type { TlsSettings } from "../transport/dialer.js";

export type BuildkitAddress =
  | { scheme: "tcp"; host: string; port: number }
  | { scheme: "unix"; path: string }
  /** `buildctl dial-stdio` run in a container through the Docker API. */
  | { scheme: "docker-container"; container: string; context?: string };

const schemes = "tcp://HOST:PORT, unix:///PATH or docker-container://NAME[?context=CTX]";

/** Parses an address; `source` (e.g. `BUILDKIT_HOST`) is named in errors. */
export function parseBuildkitAddress(address: string, source: string): BuildkitAddress {
  const bad = (why: string) =>
    new HlnError("E_USAGE", `${source}=${address}: ${why} (expected ${schemes})`);
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw bad("not a URL");
  }
  switch (url.protocol) {
    case "tcp:": {
      if (!url.hostname) throw bad("no host");
      if (!url.port) throw bad("no port");
      // URL keeps IPv6 literals bracketed; sockets want them bare.
      return {
        scheme: "tcp",
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: Number(url.port),
      };
    }
    case "unix:": {
      // buildctl dials all that follows unix:// (client/client_unix.go), so
      // unix://run/b.sock is the relative path run/b.sock, which URL splits at the host.
      const path = decodeURIComponent(url.host + url.pathname);
      if (!path || path === "/") throw bad("no socket path");
      return { scheme: "unix", path };
    }
    case "docker-container:": {
      const container = decodeURIComponent(url.hostname || url.pathname.replace(/^\/+/, ""));
      if (!container) throw bad("no container name");
      const context = url.searchParams.get("context") ?? undefined;
      return { scheme: "docker-container", container, ...(context ? { context } : {}) };
    }
    default:
      throw bad(`scheme ${url.protocol}// is not supported`);
  }
}

/** TLS settings from the environment; each may name a file or come from a TLS dir. */
export interface TlsEnvironment {
  BUILDKIT_TLS_CA?: string;
  BUILDKIT_TLS_CERT?: string;
  BUILDKIT_TLS_KEY?: string;
  BUILDKIT_TLS_SERVERNAME?: string;
  BUILDKIT_TLS_DIR?: string;
}

/**
 * TLS for a `tcp://` BuildKit, or undefined for plain h2c. Files follow buildctl:
 * `BUILDKIT_TLS_CA`/`_CERT`/`_KEY` (its --tlscacert, --tlscert, --tlskey), or
 * `BUILDKIT_TLS_DIR` holding `ca.pem` or `ca.crt`, `cert.pem` or `tls.crt`, `key.pem`
 * or `tls.key`. `BUILDKIT_TLS_SERVERNAME` overrides the name checked in the certificate.
 *
 * @example
 * tlsFromEnv({ BUILDKIT_TLS_DIR: "/etc/buildkit/certs" })
 */
export function tlsFromEnv(
  env: TlsEnvironment & Record<string, string | undefined>,
  read: (path: string) => Uint8Array = (p) => readFileSync(p),
  exists: (path: string) => boolean = existsSync,
  /** The flag each variable came from, when a flag set it (`BUILDKIT_TLS_CA` -> `--tlscacert`). */
  flags: Partial<Record<keyof TlsEnvironment, string>> = {},
): TlsSettings | undefined {
  // Errors name what the user typed: the flag, else the variable.
  const named = (variable: keyof TlsEnvironment, value: string): string =>
    shownSetting(flags[variable] ?? variable, value);
  const file = (variable: keyof TlsEnvironment, path: string, shown = path): Uint8Array => {
    try {
      return read(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new HlnError(
        "E_INPUT_INVALID",
        `${named(variable, shown)}: cannot read ${path === shown ? "" : `${path} `}${code === "ENOENT" ? "(no such file)" : `(${code ?? String(err)})`}`,
      );
    }
  };
  const settings: TlsSettings = {};
  const dir = env.BUILDKIT_TLS_DIR;
  if (dir) {
    const pick = (names: string[]) => names.map((n) => join(dir, n)).find(exists);
    const ca = pick(["ca.pem", "ca.crt"]);
    const cert = pick(["cert.pem", "tls.crt"]);
    const key = pick(["key.pem", "tls.key"]);
    if (!ca && !cert)
      throw new HlnError(
        "E_INPUT_INVALID",
        `${named("BUILDKIT_TLS_DIR", dir)}: holds none of ca.pem, ca.crt, cert.pem, tls.crt`,
      );
    if (ca) settings.ca = file("BUILDKIT_TLS_DIR", ca, dir);
    if (cert) settings.cert = file("BUILDKIT_TLS_DIR", cert, dir);
    if (key) settings.key = file("BUILDKIT_TLS_DIR", key, dir);
  }
  if (env.BUILDKIT_TLS_CA) settings.ca = file("BUILDKIT_TLS_CA", env.BUILDKIT_TLS_CA);
  if (env.BUILDKIT_TLS_CERT) settings.cert = file("BUILDKIT_TLS_CERT", env.BUILDKIT_TLS_CERT);
  if (env.BUILDKIT_TLS_KEY) settings.key = file("BUILDKIT_TLS_KEY", env.BUILDKIT_TLS_KEY);
  if (env.BUILDKIT_TLS_SERVERNAME) settings.serverName = env.BUILDKIT_TLS_SERVERNAME;
  if (!settings.ca && !settings.cert && !settings.key && !settings.serverName) return undefined;
  if (!!settings.cert !== !!settings.key)
    throw new HlnError(
      "E_INPUT_INVALID",
      "BuildKit TLS: a client certificate needs its key and the other way round",
      { remedy: { settings: ["tlsClientCert"] } },
    );
  return settings;
}
