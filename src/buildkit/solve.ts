/**
 * One Control.Solve with its Status stream. The two run side by side under the same
 * build ref; cancelling the Solve RPC cancels the build on the engine.
 */
import { randomBytes } from "node:crypto";
import { debuglog } from "node:util";
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { HlnError } from "../errors.js";
import {
  type SolveRequest,
  SolveRequestSchema,
  type StatusResponse,
} from "../gen/buildkit/control_pb.js";
import type { Definition } from "../gen/buildkit/ops_pb.js";
import type { BuildkitConnection } from "./connection.js";
import { cleanEngineMessage } from "./engine-message.js";
import { dumpRequest } from "./request-dump.js";
import type { SolveStatus } from "./solve-status.js";

const debug = debuglog("hln:solve");

export interface ExporterSpec {
  type: string;
  attrs?: Record<string, string>;
}

export interface SolveOptions {
  /** The graph to build; leave unset when a frontend builds it. */
  definition?: Definition;
  /** The session that serves this build's callbacks. */
  sessionId: string;
  frontend?: string;
  frontendAttrs?: Record<string, string>;
  exporters?: ExporterSpec[];
  cacheImports?: ExporterSpec[];
  cacheExports?: ExporterSpec[];
  /** Build ref; a random one by default. */
  ref?: string;
  /** Receives every Status message as it arrives. */
  onStatus?: (status: SolveStatus) => void;
  signal?: AbortSignal;
  /**
   * Keep a record of the build in the engine's build history (`docker buildx history`).
   * Default false: the engine writes the record after the build, provenance of the whole
   * graph and its progress log included, and the client waits for it. For a cached graph
   * of 1,000 ops that took 16 to 33 s instead of 3 s on Docker 26, and under load it failed
   * the solve with "context deadline exceeded"; hln shows its own progress, and one run
   * makes a solve per result, each of which would be a record.
   */
  recordHistory?: boolean;
}

export interface SolveResult {
  ref: string;
  exporterResponse: Record<string, string>;
}

/**
 * A solve that BuildKit rejected or that failed in a step.
 *
 * @example
 * try {
 *   await solve(conn, { definition: def, sessionId: session.id });
 * } catch (err) {
 *   if (err instanceof SolveError) console.error(err.ref, err.message);
 * }
 */
export class SolveError extends HlnError {
  override readonly name = "SolveError";
  constructor(
    message: string,
    readonly ref: string,
    cause: unknown,
  ) {
    super("E_SOLVE_FAILED", message, { cause });
  }
}

/** A random build ref, like the Go client's 25-character IDs. */
export function newBuildRef(): string {
  return randomBytes(16).toString("base64url").slice(0, 25).toLowerCase();
}

function sortedRecord(r: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r ?? {}).sort()) out[k] = r![k]!;
  return out;
}

/** The Control.Solve request for `o`, under build ref `ref`. */
export function solveRequest(o: SolveOptions, ref: string): SolveRequest {
  const exporters = o.exporters ?? [];
  const first = exporters[0];
  return create(SolveRequestSchema, {
    ref,
    // An internal build is left out of the engine's build history (control/control.go).
    internal: o.recordHistory !== true,
    definition: o.definition,
    session: o.sessionId,
    frontend: o.frontend ?? "",
    frontendAttrs: sortedRecord(o.frontendAttrs),
    // BuildKit before 0.13 reads only the single legacy exporter; newer ones prefer the
    // list and fall back to the legacy fields when it is empty (control/control.go).
    exporterDeprecated: first?.type ?? "",
    exporterAttrsDeprecated: sortedRecord(first?.attrs),
    exporters: exporters.map((e) => ({ type: e.type, attrs: sortedRecord(e.attrs) })),
    cache: {
      imports: (o.cacheImports ?? []).map((e) => ({ type: e.type, attrs: sortedRecord(e.attrs) })),
      exports: (o.cacheExports ?? []).map((e) => ({ type: e.type, attrs: sortedRecord(e.attrs) })),
    },
  });
}

/**
 * Runs one Control.Solve: builds `o.definition` (or the frontend's graph), streams its
 * progress to `o.onStatus`, and resolves with what the exporters reported. Failures are
 * SolveError; `o.signal` cancels the build on the engine.
 *
 * @example
 * const def = definition(exec({ root: imageSource("busybox"), args: ["true"], cwd: "/" }).root);
 * const { exporterResponse } = await solve(conn, {
 *   definition: def,
 *   sessionId: session.id,
 *   exporters: [{ type: "image", attrs: { name: "example/app:dev" } }],
 *   onStatus: (s) => console.log(s.vertexes.length),
 * });
 */
export async function solve(conn: BuildkitConnection, o: SolveOptions): Promise<SolveResult> {
  const ref = o.ref ?? newBuildRef();
  const req = solveRequest(o, ref);
  dumpRequest("solve", SolveRequestSchema, req);

  // Status outlives Solve by a little: the last vertex updates arrive after Solve returns.
  const statusAbort = new AbortController();
  const onAbort = () => statusAbort.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const statusDone = (async () => {
    try {
      for await (const msg of conn.control.status({ ref }, { signal: statusAbort.signal })) {
        o.onStatus?.(decodeStatus(msg));
      }
    } catch (err) {
      if (!statusAbort.signal.aborted) debug("status %s: %s", ref, (err as Error).message);
    }
  })();

  const drops = conn.drops;
  try {
    const res = await conn.control.solve(req, { signal: o.signal });
    return { ref, exporterResponse: { ...res.exporterResponse } };
  } catch (err) {
    if (!o.signal?.aborted) {
      // The call fails as soon as the stream breaks; the session may notice a moment later.
      await new Promise((r) => setTimeout(r, 50));
      const lost = conn.lostSince(drops);
      if (lost) throw lost;
    }
    throw solveFailure(conn, ref, err, o.signal);
  } finally {
    // Give the stream a moment to deliver the final updates, then stop it.
    const timer = setTimeout(() => statusAbort.abort(), 2000);
    await statusDone;
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}

function solveFailure(
  conn: BuildkitConnection,
  ref: string,
  err: unknown,
  signal: AbortSignal | undefined,
): HlnError {
  if (signal?.aborted) return new HlnError("E_ABORTED", "cancelled", { cause: signal.reason });
  if (err instanceof HlnError) return err;
  const ce = ConnectError.from(err);
  if (ce.code === Code.Unavailable || ce.code === Code.Internal) {
    if (
      /ECONNRESET|EPIPE|stream closed|socket hang up|GOAWAY|session closed/i.test(ce.rawMessage)
    ) {
      return new HlnError(
        "E_ENGINE_PROTOCOL",
        `connection to ${conn.endpoint} dropped during the build: ${ce.rawMessage}`,
        { cause: err },
      );
    }
  }
  return new SolveError(cleanEngineMessage(ce.rawMessage), ref, err);
}

function date(t: Timestamp | undefined): Date | undefined {
  return t ? timestampDate(t) : undefined;
}

const decoder = new TextDecoder();

export function decodeStatus(msg: StatusResponse): SolveStatus {
  return {
    vertexes: msg.vertexes.map((v) => ({
      digest: v.digest,
      name: v.name,
      inputs: [...v.inputs],
      cached: v.cached,
      started: date(v.started),
      completed: date(v.completed),
      error: v.error || undefined,
    })),
    statuses: msg.statuses.map((s) => ({
      id: s.id,
      vertex: s.vertex,
      name: s.name,
      current: Number(s.current),
      total: Number(s.total),
      timestamp: date(s.timestamp) ?? new Date(0),
      started: date(s.started),
      completed: date(s.completed),
    })),
    // BuildKit relays stdout and stderr through a progress pipe each, so one message can
    // hold a step's chunks out of the order it wrote them; their timestamps keep it.
    logs: msg.logs
      .map((l) => ({
        vertex: l.vertex,
        timestamp: date(l.timestamp) ?? new Date(0),
        stream: Number(l.stream),
        data: l.msg,
      }))
      .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime()),
    warnings: msg.warnings.map((w) => ({
      vertex: w.vertex,
      level: Number(w.level),
      short: decoder.decode(w.short),
      detail: w.detail.map((d) => decoder.decode(d)),
      url: w.url || undefined,
    })),
  };
}
