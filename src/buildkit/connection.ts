/**
 * A connection to one BuildKit: the Control API client, plus a way to open the
 * session tunnel in which BuildKit calls us back. How bytes reach BuildKit (Docker's
 * `/grpc` upgrade, a unix socket, ssh, docker exec) is the caller's business; it hands
 * in functions that open streams.
 */
import { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HlnError } from "../errors.js";
import { BytesMessageSchema, Control } from "../gen/buildkit/control_pb.js";
import { LLBBridge } from "../gen/buildkit/gateway_pb.js";
import { H2cSessionManager } from "../transport/h2c.js";

export type ControlClient = Client<typeof Control>;
export type GatewayClient = Client<typeof LLBBridge>;

/** The headers that announce a session (BuildKit session/grpchijack; Docker router/session). */
export interface SessionHeaders {
  uuid: string;
  name: string;
  sharedKey: string;
  /** Full gRPC paths of every method we serve, e.g. `/moby.filesync.v1.FileSync/DiffCopy`. */
  methods: string[];
}

export interface BuildkitConnectionOptions {
  /** Names the engine in messages, e.g. `unix:///var/run/docker.sock (docker /grpc)`. */
  endpoint: string;
  /** Opens a byte stream that speaks HTTP/2 (prior knowledge) to BuildKit's gRPC server. */
  connect: () => Promise<Duplex>;
  /**
   * Opens the session tunnel out of band, as Docker's `POST /session` does. Without it the
   * session runs inside the Control.Session stream, as with a standalone buildkitd.
   */
  openSessionTunnel?: (headers: SessionHeaders, signal: AbortSignal) => Promise<Duplex>;
  /**
   * How long a new connection may stay silent before BuildKit's HTTP/2 answer; past it
   * the calls waiting on it fail naming the endpoint. Default: no bound.
   */
  answerTimeoutMs?: number;
}

export interface BuildkitConnection {
  readonly endpoint: string;
  readonly control: ControlClient;
  /** The frontend gateway; every call needs the `buildkit-controlapi-buildid` header of a running build. */
  readonly gateway: GatewayClient;
  openSessionTunnel(headers: SessionHeaders, signal: AbortSignal): Promise<Duplex>;
  /** Times the connection ended without `close()` (see `lostSince`). */
  readonly drops: number;
  /**
   * An error naming the endpoint when the connection dropped since `drops` was `since`,
   * for callers to report instead of whatever the interrupted call failed with.
   */
  lostSince(since: number): HlnError | undefined;
  close(): void;
}

/** BuildKit and its Go client both cap messages at 16 MiB. */
const maxMessageBytes = 16 << 20;

/**
 * A lazy gRPC connection to BuildKit's Control and gateway APIs over the byte streams
 * `connect` opens; nothing is dialled until the first call.
 *
 * @example
 * import { connect } from "node:net";
 * const conn = createBuildkitConnection({
 *   endpoint: "unix:///run/buildkit/buildkitd.sock",
 *   connect: async () => connect("/run/buildkit/buildkitd.sock"),
 * });
 */
export function createBuildkitConnection(options: BuildkitConnectionOptions): BuildkitConnection {
  // Control.Session carries one metadata value per served method; BuildKit matches them
  // one by one, and a joined list would hide FileSync and FileSend ("no local sources").
  const manager = new H2cSessionManager(
    options.connect,
    options.endpoint,
    new Set(["x-docker-expose-session-grpc-method"]),
    options.answerTimeoutMs,
  );
  const transport = createGrpcTransport({
    baseUrl: manager.authority,
    sessionManager: manager,
    readMaxBytes: maxMessageBytes,
    writeMaxBytes: maxMessageBytes,
  });
  const control = createClient(Control, transport);
  return {
    endpoint: options.endpoint,
    control,
    gateway: createClient(LLBBridge, transport),
    openSessionTunnel:
      options.openSessionTunnel ??
      ((headers, signal) => Promise.resolve(controlSessionTunnel(control, headers, signal))),
    get drops() {
      return manager.drops;
    },
    lostSince: (since) =>
      manager.drops === since
        ? undefined
        : (manager.lastDropError ??
          new HlnError(
            "E_ENGINE_PROTOCOL",
            `lost the connection to ${options.endpoint} during the build: ${manager.lastDrop}`,
          )),
    close: () => manager.close(),
  };
}

/**
 * The session as a Control.Session bidi stream: each BytesMessage carries an arbitrary
 * slice of one byte stream in either direction, and the headers travel as lowercased
 * gRPC metadata (BuildKit session/grpchijack/dial.go).
 */
export function controlSessionTunnel(
  control: ControlClient,
  headers: SessionHeaders,
  signal: AbortSignal,
): Duplex {
  const outgoing: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* requests() {
    while (true) {
      while (outgoing.length > 0) yield create(BytesMessageSchema, { data: outgoing.shift()! });
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
  }
  const meta = new Headers();
  meta.set("x-docker-expose-session-uuid", headers.uuid);
  meta.set("x-docker-expose-session-name", headers.name);
  meta.set("x-docker-expose-session-sharedkey", headers.sharedKey);
  for (const m of headers.methods) meta.append("x-docker-expose-session-grpc-method", m);

  const duplex = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      outgoing.push(new Uint8Array(chunk));
      wake?.();
      cb();
    },
    final(cb) {
      ended = true;
      wake?.();
      cb();
    },
    read() {},
    destroy(err, cb) {
      ended = true;
      wake?.();
      cb(err);
    },
  });
  (async () => {
    try {
      for await (const msg of control.session(requests(), { headers: meta, signal })) {
        duplex.push(msg.data);
      }
      duplex.push(null);
    } catch (err) {
      duplex.destroy(err as Error);
    }
  })();
  return duplex;
}
