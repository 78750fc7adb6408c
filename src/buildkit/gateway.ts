/**
 * A client-side frontend: a build started with no definition, inside which we solve
 * graphs and read files straight out of their results (BuildKit control/gateway, as
 * Go's client.Build and buildx drive it). This is how hln returns a step's stdout or a
 * file's contents without exporting anything, cached steps included.
 */

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { HlnError } from "../errors.js";
import { CacheOptionsEntrySchema } from "../gen/buildkit/control_pb.js";
import {
  type APICap,
  SolveRequestSchema as GatewaySolveRequestSchema,
  type Result,
  ReturnRequestSchema,
} from "../gen/buildkit/gateway_pb.js";
import type { Definition } from "../gen/buildkit/ops_pb.js";
import { type Platform, toPbPlatform } from "../llb/platform.js";
import type { BuildkitConnection } from "./connection.js";
import { cleanEngineMessage } from "./engine-message.js";
import { dumpRequest } from "./request-dump.js";
import { newBuildRef, type SolveOptions, solve } from "./solve.js";

/** How much of a large file one ReadFile call asks for, well under the 16 MiB message limit. */
const readChunkBytes = 8 << 20;

function sorted(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

export interface GatewayBuild {
  /** The build ref; its Status stream carries the progress of everything solved here. */
  readonly ref: string;
  /** Solves a graph and returns the ID of its result. */
  solve(definition: Definition, options?: { evaluate?: boolean }): Promise<string>;
  /**
   * Runs a frontend (e.g. `dockerfile.v0`) and returns its result: an ID for readFile,
   * the result's LLB Definition when the engine returns one, and its metadata (such as
   * `containerimage.config`).
   */
  solveFrontend(
    frontend: string,
    options: { opts?: Record<string, string>; inputs?: Record<string, Definition> },
  ): Promise<{
    id: string;
    definition: Definition | undefined;
    metadata: Record<string, Uint8Array>;
  }>;
  /** Reads a file from a result. */
  readFile(resultId: string, path: string): Promise<Uint8Array>;
  /** The LLB and gateway capabilities of the engine. */
  ping(): Promise<{ llbCaps: APICap[]; frontendCaps: APICap[] }>;
  /**
   * An image's OCI config as the engine resolves it: from its own image store first
   * (`local`, as buildx asks Docker to), else from the registry.
   */
  resolveImageConfig(
    ref: string,
    platform: Platform,
  ): Promise<{ digest: string; config: Uint8Array }>;
  /**
   * Makes `resultId` the build's result, with metadata the exporters read (for example
   * `containerimage.config`, the image config JSON). By default the last solved result.
   */
  setResult(resultId: string, metadata?: Record<string, Uint8Array>): void;
}

export interface GatewayOptions extends Omit<SolveOptions, "definition" | "frontend" | "ref"> {
  /** Receives the exporters' response when the build ends. */
  onResponse?: (exporterResponse: Record<string, string>) => void;
}

/**
 * Runs `fn` inside a gateway build and ends the build when it settles. Errors from `fn`
 * win over the error the build then reports.
 *
 * @example
 * const text = await withGateway(conn, { sessionId: session.id }, async (build) => {
 *   const { id } = await build.solveFrontend("dockerfile.v0", { opts: { filename: "Dockerfile" } });
 *   return new TextDecoder().decode(await build.readFile(id, "/etc/os-release"));
 * });
 */
export async function withGateway<T>(
  conn: BuildkitConnection,
  options: GatewayOptions,
  fn: (build: GatewayBuild) => Promise<T>,
): Promise<T> {
  const ref = newBuildRef();
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const control = solve(conn, { ...options, ref, signal: abort.signal });
  let controlError: unknown;
  control.catch((err) => {
    controlError = err;
    // The build is over: calls still waiting in it cannot succeed, and an engine that
    // does not end them itself would leave them, and the run, waiting for good.
    abort.abort(err);
  });

  // The daemon waits briefly for the build to register before it answers these.
  const headers = { "buildkit-controlapi-buildid": ref };
  const call = { headers, signal: abort.signal };
  const drops = conn.drops;
  const wrap = (err: unknown): unknown => {
    if (options.signal?.aborted)
      return new HlnError("E_ABORTED", "cancelled", { cause: options.signal.reason });
    const lost = conn.lostSince(drops);
    if (lost) return lost;
    if (err instanceof HlnError) return err;
    if (controlError) return controlError;
    return new HlnError("E_SOLVE_FAILED", cleanEngineMessage(ConnectError.from(err).rawMessage), {
      cause: err,
    });
  };
  const cacheImports = (options.cacheImports ?? []).map((e) =>
    create(CacheOptionsEntrySchema, { type: e.type, attrs: sorted(e.attrs ?? {}) }),
  );
  let last: string | undefined;
  let resultMetadata: Record<string, Uint8Array> = {};
  /** One LLBBridge.Solve; its result becomes the build's result unless set otherwise. */
  const solveResult = async (
    request: MessageInitShape<typeof GatewaySolveRequestSchema>,
    what: string,
  ): Promise<{ id: string; result: Result }> => {
    try {
      const sent = create(GatewaySolveRequestSchema, {
        ...request,
        allowResultReturn: true,
        allowResultArrayRef: true,
        cacheImports,
      });
      dumpRequest("gateway", GatewaySolveRequestSchema, sent);
      const res = await conn.gateway.solve(sent, call);
      const r = res.result?.result;
      // Before the proto.refarray cap a result was a bare ID.
      const id = r?.case === "ref" ? r.value.id : r?.case === "refDeprecated" ? r.value : undefined;
      if (id === undefined || !res.result) {
        throw new HlnError("E_ENGINE_PROTOCOL", `${what} returned no result`);
      }
      last = id;
      return { id, result: res.result };
    } catch (err) {
      throw wrap(err);
    }
  };
  const build: GatewayBuild = {
    ref,
    async solve(definition, o = {}) {
      const { id } = await solveResult(
        { definition, evaluate: o.evaluate ?? false },
        "gateway solve",
      );
      return id;
    },
    async solveFrontend(frontend, o) {
      const { id, result } = await solveResult(
        { frontend, frontendOpt: sorted(o.opts ?? {}), frontendInputs: o.inputs ?? {} },
        frontend,
      );
      return {
        id,
        definition: result.result.case === "ref" ? result.result.value.def : undefined,
        metadata: { ...result.metadata },
      };
    },
    async readFile(resultId, path) {
      try {
        return (await conn.gateway.readFile({ ref: resultId, filePath: path }, call)).data;
      } catch (err) {
        // A file over the client's 16 MiB message limit comes in ranges instead: one
        // call serves the common small file, and engines read ranges since ReadFile began.
        if (!/larger than configured readMaxBytes/.test(String(err))) throw wrap(err);
      }
      const chunks: Uint8Array[] = [];
      try {
        for (let offset = 0n; ; ) {
          const { data } = await conn.gateway.readFile(
            { ref: resultId, filePath: path, range: { offset, length: BigInt(readChunkBytes) } },
            call,
          );
          chunks.push(data);
          if (data.length < readChunkBytes) break;
          offset += BigInt(data.length);
        }
      } catch (err) {
        throw wrap(err);
      }
      return Buffer.concat(chunks);
    },
    setResult(resultId, metadata = {}) {
      last = resultId;
      resultMetadata = metadata;
    },
    async resolveImageConfig(ref, platform) {
      try {
        const res = await conn.gateway.resolveImageConfig(
          {
            ref,
            platform: toPbPlatform(platform),
            resolveMode: "local",
            logName: `resolve image config for ${ref}`,
          },
          call,
        );
        return { digest: res.digest, config: res.config };
      } catch (err) {
        throw wrap(err);
      }
    },
    async ping() {
      try {
        const res = await conn.gateway.ping({}, call);
        return { llbCaps: res.llbCaps, frontendCaps: res.frontendApiCaps };
      } catch (err) {
        throw wrap(err);
      }
    },
  };

  let value: T;
  try {
    value = await fn(build);
  } catch (err) {
    abort.abort();
    await control.catch(() => {});
    // A dropped connection fails every call at once; report the cause, not a symptom.
    throw conn.lostSince(drops) ?? err;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  try {
    // The result's metadata carries the image config: what the image's env and labels become.
    const returned = create(ReturnRequestSchema, {
      result: last
        ? { result: { case: "ref", value: { id: last } }, metadata: resultMetadata }
        : {},
    });
    dumpRequest("return", ReturnRequestSchema, returned);
    await conn.gateway.return(returned, call);
  } catch (err) {
    // An engine that already ended the build has nothing left to return to.
    if (ConnectError.from(err).code !== Code.NotFound) {
      abort.abort();
      await control.catch(() => {});
      throw wrap(err);
    }
  }
  const res = await control;
  options.onResponse?.(res.exporterResponse);
  return value;
}
