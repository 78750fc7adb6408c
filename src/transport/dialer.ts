/**
 * Dialers open a raw byte stream to an endpoint. Everything above (HTTP to the Docker
 * API, h2c to BuildKit) is layered on one of these, so a new way to reach an engine
 * (ssh, docker exec stdio) is a new dialer and nothing else.
 */
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { HlnError } from "../errors.js";
import { unreachable } from "./node-error.js";

export interface DialOptions {
  signal?: AbortSignal;
}

export interface Dialer {
  /** Human-readable endpoint, used in every message about it (e.g. `unix:///var/run/docker.sock`). */
  readonly endpoint: string;
  /** Opens a new connection. Rejects with E_ENGINE_UNREACHABLE naming the endpoint. */
  dial(options?: DialOptions): Promise<Duplex>;
  /**
   * True when opening a connection is costly (a process, a remote command): callers then
   * keep one connection open and send their requests through it in turn.
   */
  readonly keepAlive?: boolean;
  /** Ends whatever the dialer keeps between dials (a shared ssh connection). */
  close?(): void;
}

export interface NetDialerOptions {
  /** Give up connecting after this long. Defaults to 2000 ms. */
  connectTimeoutMs?: number;
}

/** A dialer for a unix socket path. */
export function unixDialer(path: string, options: NetDialerOptions = {}): Dialer {
  const endpoint = `unix://${path}`;
  return {
    endpoint,
    dial: (o) => netDial(endpoint, { path }, options.connectTimeoutMs ?? 2000, o?.signal),
  };
}

/** A dialer for plain TCP. */
export function tcpDialer(host: string, port: number, options: NetDialerOptions = {}): Dialer {
  const endpoint = `tcp://${host}:${port}`;
  return {
    endpoint,
    dial: (o) => netDial(endpoint, { host, port }, options.connectTimeoutMs ?? 2000, o?.signal),
  };
}

export interface TlsSettings {
  /** PEM bytes of the CA that signed the server; the system roots when absent. */
  ca?: Uint8Array;
  /** PEM client certificate and key, for servers that require one. */
  cert?: Uint8Array;
  key?: Uint8Array;
  /** The name the server's certificate must carry; the host by default. */
  serverName?: string;
}

/** TCP with TLS, offering HTTP/2 by ALPN as BuildKit's gRPC server expects. */
export function tlsDialer(
  host: string,
  port: number,
  settings: TlsSettings,
  options: NetDialerOptions = {},
): Dialer {
  const endpoint = `tcp://${host}:${port} (TLS)`;
  const target: tls.ConnectionOptions = {
    host,
    port,
    ca: settings.ca ? Buffer.from(settings.ca) : undefined,
    cert: settings.cert ? Buffer.from(settings.cert) : undefined,
    key: settings.key ? Buffer.from(settings.key) : undefined,
    servername: settings.serverName ?? (net.isIP(host) ? undefined : host),
    ALPNProtocols: ["h2"],
  };
  // Without a servername Node checks an IP address against the certificate's IP SANs.
  if (settings.serverName && net.isIP(host)) {
    target.checkServerIdentity = (_h, cert) => tls.checkServerIdentity(settings.serverName!, cert);
  }
  return {
    endpoint,
    dial: (o) =>
      netDial(endpoint, target, options.connectTimeoutMs ?? 2000, o?.signal, () =>
        tls.connect(target),
      ),
  };
}

function netDial(
  endpoint: string,
  target: net.NetConnectOpts | tls.ConnectionOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  open: () => net.Socket = () => net.connect(target as net.NetConnectOpts),
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new HlnError("E_ABORTED", "cancelled", { cause: signal.reason }));
      return;
    }
    const socket = open();
    const ready = socket instanceof tls.TLSSocket ? "secureConnect" : "connect";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(endpoint, Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    }, timeoutMs);
    const onAbort = () => {
      socket.destroy();
      finish();
      reject(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
    };
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
    };
    const onError = (err: Error) => {
      finish();
      reject(unreachable(endpoint, err));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once(ready, () => {
      finish();
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
