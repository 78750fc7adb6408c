import { HlnError } from "../errors.js";
import { type Dialer, tcpDialer, unixDialer } from "../transport/dialer.js";
import { pingStream } from "../transport/http.js";
import { type SshDialerOptions, sshDialer } from "../transport/ssh-dialer.js";

export interface DockerHostDialOptions {
  /** unix:// and tcp://: how long connecting may take. Defaults to 2000 ms. */
  connectTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** ssh://: the bound of each phase (see `sshDialer`); ssh's defaults suit remote hosts. */
  ssh?: Pick<SshDialerOptions, "connectTimeoutS" | "handshakeTimeoutMs" | "answerTimeoutMs">;
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
    case "ssh:": {
      const endpoint = `ssh://${url.username ? `${url.username}@` : ""}${url.host}${url.pathname.length > 1 ? url.pathname : ""}`;
      return sshDialer({
        endpoint,
        ...sshDialStdio(url),
        env: options.env,
        ...options.ssh,
        // dial-stdio prints nothing of its own: a ping is what shows it runs.
        probe: (stream, signal) => pingStream(stream, endpoint, { signal }),
      });
    }
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
 * What the Docker CLI runs for an ssh:// host (docker/cli connhelper): `ssh [-l USER]
 * [-p PORT] -- HOST docker [--host=unix://SOCKET] system dial-stdio`, so the user's ssh
 * config, agent and known_hosts apply.
 */
export function sshDialStdio(url: URL): { host: string; target: string[]; command: string[] } {
  if (url.password)
    throw new HlnError(
      "E_USAGE",
      `ssh://${url.username}@${url.host}: passwords in the URL are not supported; use a key (ssh-agent or ~/.ssh/config)`,
    );
  const target: string[] = [];
  if (url.username) target.push("-l", decodeURIComponent(url.username));
  if (url.port) target.push("-p", url.port);
  const command = ["docker"];
  if (url.pathname.length > 1) command.push(`--host=unix://${url.pathname}`);
  command.push("system", "dial-stdio");
  return { host: bare(url.hostname), target, command };
}
