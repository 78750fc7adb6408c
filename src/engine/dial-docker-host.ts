import { HlnError } from "../errors.js";
import { commandDialer } from "../transport/command-dialer.js";
import { type Dialer, tcpDialer, unixDialer } from "../transport/dialer.js";

export interface DockerHostDialOptions {
  connectTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** A dialer for a Docker host URL: `unix://`, `tcp://`, or `ssh://[user@]host[:port][/socket]`. */
export function dialerForDockerHost(host: string, options: DockerHostDialOptions = {}): Dialer {
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  let url: URL;
  try {
    url = new URL(host);
  } catch (err) {
    throw new HlnError("E_INPUT_INVALID", `invalid Docker host "${host}"`, { cause: err });
  }
  switch (url.protocol) {
    case "unix:":
      return unixDialer(url.pathname || "/var/run/docker.sock", { connectTimeoutMs });
    case "tcp:":
    case "http:":
      return tcpDialer(bare(url.hostname), Number(url.port || 2375), { connectTimeoutMs });
    case "ssh:":
      return commandDialer({
        endpoint: `ssh://${url.username ? `${url.username}@` : ""}${url.host}${url.pathname.length > 1 ? url.pathname : ""}`,
        argv: sshDialStdioArgv(url, connectTimeoutMs),
        env: options.env,
      });
    default:
      throw new HlnError(
        "E_USAGE",
        `Docker host "${host}": scheme ${url.protocol}// is not supported (use unix://, tcp:// or ssh://)`,
      );
  }
}

/** URL keeps IPv6 literals bracketed; sockets and ssh want them bare, as Go's Hostname() gives. */
function bare(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * The ssh command the Docker CLI runs for an ssh:// host (docker/cli connhelper), so the
 * user's ssh config, agent and known_hosts apply. BatchMode: each request is its own
 * ssh process, and a password or passphrase prompt would hang every one of them; keys
 * come from the agent or the config instead.
 */
export function sshDialStdioArgv(url: URL, connectTimeoutMs: number): string[] {
  if (url.password)
    throw new HlnError(
      "E_USAGE",
      `ssh://${url.username}@${url.host}: passwords in the URL are not supported; use a key (ssh-agent or ~/.ssh/config)`,
    );
  const argv = [
    "ssh",
    "-o",
    `ConnectTimeout=${Math.max(1, Math.ceil(connectTimeoutMs / 1000))}`,
    "-o",
    "BatchMode=yes",
    "-T",
  ];
  if (url.username) argv.push("-l", decodeURIComponent(url.username));
  if (url.port) argv.push("-p", url.port);
  argv.push("--", bare(url.hostname), "docker");
  if (url.pathname.length > 1) argv.push(`--host=unix://${url.pathname}`);
  argv.push("system", "dial-stdio");
  return argv;
}
