import { HlnError } from "../errors.js";
import { type Dialer, tcpDialer, unixDialer } from "../transport/dialer.js";

/** A dialer for a Docker host URL (`unix://`, `tcp://`). */
export function dialerForDockerHost(host: string, connectTimeoutMs = 2000): Dialer {
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
      return tcpDialer(url.hostname, Number(url.port || 2375), { connectTimeoutMs });
    default:
      throw new HlnError(
        "E_USAGE",
        `Docker host "${host}": scheme ${url.protocol}// is not supported yet (use unix:// or tcp://)`,
      );
  }
}
