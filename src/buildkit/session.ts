/**
 * The client side of a BuildKit session. Inside the tunnel the roles are reversed:
 * BuildKit is the gRPC client and we serve the callbacks it makes (health checks now;
 * file sync, file export, secrets and registry auth plug in as more services).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { debuglog } from "node:util";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HlnError } from "../errors.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health_pb.js";
import { type H2cServer, type H2Handler, serveH2c } from "../transport/h2c.js";
import type { BuildkitConnection } from "./connection.js";
import { groupRawHeaders, rawMetadataHeader } from "./session-metadata.js";

const debug = debuglog("hln:session");

/** A service the session offers BuildKit. */
export interface SessionService {
  /** Full gRPC paths this service answers, announced in the session headers. */
  readonly methods: readonly string[];
  register(router: ConnectRouter): void;
  /**
   * Handlers by gRPC path that take the HTTP/2 request themselves, ahead of the router:
   * for calls whose message rate makes connect's per-message cost show (file sync).
   */
  readonly raw?: Readonly<Record<string, H2Handler>>;
}

export interface SessionOptions {
  /** Stable key BuildKit uses to reuse transferred local directories across runs. */
  sharedKey?: string;
  /** Shown by BuildKit in its session list. Defaults to "hln". */
  name?: string;
  services?: SessionService[];
  signal?: AbortSignal;
  /**
   * BuildKit checks the session's health every 5 s for as long as it holds the session.
   * When no check arrives for this long, the connection is as good as gone (a silent
   * network drop never says so otherwise) and `onSilent` is told, once.
   */
  silenceTimeoutMs?: number;
  onSilent?: (silentMs: number) => void;
}

export interface Session {
  /** The session ID to put in SolveRequest.session. */
  readonly id: string;
  /** Closes the tunnel. Safe to call twice. */
  close(): Promise<void>;
}

function healthService(onCheck: () => void): SessionService {
  return {
    methods: ["/grpc.health.v1.Health/Check"],
    register(router) {
      // BuildKit checks every 5 s and drops the session after two misses (session/grpc.go).
      router.service(Health, {
        check: () => {
          onCheck();
          return { status: HealthCheckResponse_ServingStatus.SERVING };
        },
      });
    },
  };
}

/**
 * Opens a session on `conn` and serves it until closed. Solves that name `id` can use it
 * as soon as this resolves; BuildKit waits a few seconds for a session to appear, so it
 * is safe to start solving right away.
 *
 * @example
 * const session = await openSession(conn, { signal });
 * try {
 *   await solve(conn, { definition: def, sessionId: session.id, signal });
 * } finally {
 *   await session.close();
 * }
 */
export async function openSession(
  conn: BuildkitConnection,
  options: SessionOptions = {},
): Promise<Session> {
  let heard = Date.now();
  const services = [healthService(() => (heard = Date.now())), ...(options.services ?? [])];
  const id = randomUUID().replaceAll("-", "").slice(0, 25);
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });

  let tunnel: import("node:stream").Duplex;
  try {
    tunnel = await conn.openSessionTunnel(
      {
        uuid: id,
        name: options.name ?? "hln",
        sharedKey: options.sharedKey ?? randomBytes(8).toString("hex"),
        methods: services.flatMap((s) => s.methods),
      },
      abort.signal,
    );
  } catch (err) {
    options.signal?.removeEventListener("abort", onAbort);
    throw HlnError.from(err, "E_ENGINE_PROTOCOL");
  }
  tunnel.on("error", (err) => debug("session %s tunnel: %s", id, err.message));
  const handler = connectNodeAdapter({
    routes: (router) => {
      for (const s of services) s.register(router);
    },
    readMaxBytes: 16 << 20,
    writeMaxBytes: 16 << 20,
    // BuildKit advertises gzip, and connect would compress every answer over 1 KiB: file
    // contents sent to a local engine gain nothing and cost most of the transfer time.
    acceptCompression: [],
  });
  const raw = new Map<string, H2Handler>();
  for (const s of services) for (const [path, h] of Object.entries(s.raw ?? {})) raw.set(path, h);
  const server: H2cServer = serveH2c(tunnel, (req, res) => {
    const own = raw.get(req.url);
    if (own !== undefined) return own(req, res);
    req.headers[rawMetadataHeader] = JSON.stringify(groupRawHeaders(req.rawHeaders));
    handler(req, res);
  });
  let closing: Promise<void> | undefined;
  const timeout = options.silenceTimeoutMs;
  const watchdog =
    timeout && options.onSilent
      ? setInterval(
          () => {
            const silent = Date.now() - heard;
            if (silent < timeout) return;
            clearInterval(watchdog);
            debug("session %s: no health check for %d ms", id, silent);
            options.onSilent?.(silent);
          },
          Math.min(1000, timeout / 4),
        )
      : undefined;
  watchdog?.unref();
  return {
    id,
    close() {
      clearInterval(watchdog);
      closing ??= (async () => {
        options.signal?.removeEventListener("abort", onAbort);
        server.close();
        abort.abort();
        tunnel.end();
        await Promise.race([server.closed, new Promise((r) => setTimeout(r, 1500).unref())]);
        tunnel.destroy();
      })();
      return closing;
    },
  };
}
