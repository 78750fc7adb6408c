/**
 * What an engine's BuildKit can do, learned once per connection from the gateway's Ping,
 * and checked against a graph before it is sent. An old daemon rejects an unknown cap
 * with a terse "unknown API capability"; hln says instead which feature of the stack
 * needs which BuildKit release, before any work starts.
 */
import { HlnError } from "../errors.js";
import type { APICap } from "../gen/buildkit/gateway_pb.js";
import type { Definition } from "../gen/buildkit/ops_pb.js";
import type { BuildkitConnection } from "./connection.js";
import { withGateway } from "./gateway.js";

export interface EngineCapabilities {
  /** Every LLB cap the daemon knows, enabled or not. */
  readonly llb: ReadonlyMap<string, APICap>;
  readonly frontend: ReadonlyMap<string, APICap>;
  /** The oldest release with every cap the daemon knows, e.g. `v0.13`; undefined when none of the dated caps is known. */
  readonly atLeast: string | undefined;
  /** The first release with a cap the daemon does not know: the engine is older. */
  readonly below: string | undefined;
  /** The release range the caps place the engine in, e.g. `v0.13`, `v0.11 to v0.12`, `older than v0.9`. */
  readonly release: string;
}

/**
 * The first BuildKit release of caps hln can use or date the engine by (solver/pb/caps.go
 * history, wire doc §9), with what a stack author knows them as.
 */
const dated: Record<string, { since: string; feature?: string }> = {
  "source.local.differ": { since: "v0.9" },
  "file.copy.includeexcludepatterns": {
    since: "v0.9",
    feature: "include/exclude filters on copies",
  },
  mergeop: { since: "v0.10", feature: "merged directories" },
  diffop: { since: "v0.10", feature: "directory diffs" },
  "exec.secretenv": {
    since: "v0.10",
    feature: "secret environment variables (withSecretVariable)",
  },
  "exec.meta.ulimit": { since: "v0.10" },
  "exec.mount.tmpfs.size": { since: "v0.10", feature: "sized tmpfs mounts" },
  "file.rm.nofollowsymlink": { since: "v0.10" },
  "source.ocilayout": { since: "v0.11" },
  "exporter.image.attestations": { since: "v0.11" },
  "exporter.multiple": { since: "v0.13" },
  "file.copy.alwaysreplaceexistingdestpaths": { since: "v0.14" },
  "exec.validexitcode": { since: "v0.17", feature: "allowed exit codes other than 0" },
  "file.copy.modestring": { since: "v0.17" },
  "file.symlink.create": { since: "v0.19" },
  "exec.meta.cdi": { since: "v0.20" },
  "source.local.metadatatransfer": { since: "v0.22" },
  "source.git.checksum": { since: "v0.23" },
  "source.image.checksum": { since: "v0.25" },
  "source.policy.session": { since: "v0.26" },
};

function minorOf(v: string): number {
  return Number(v.split(".")[1] ?? 0);
}

const probes = new WeakMap<BuildkitConnection, Promise<EngineCapabilities>>();

/**
 * The engine's caps, asked once per connection: Ping only answers inside a build, so
 * this runs an empty gateway build on `sessionId`.
 */
export function engineCapabilities(
  conn: BuildkitConnection,
  options: { sessionId: string; signal?: AbortSignal },
): Promise<EngineCapabilities> {
  let probe = probes.get(conn);
  if (!probe) {
    probe = withGateway(conn, { sessionId: options.sessionId, signal: options.signal }, (gw) =>
      gw.ping(),
    ).then(({ llbCaps, frontendCaps }) => capabilitiesOf(llbCaps, frontendCaps));
    probes.set(conn, probe);
    probe.catch(() => probes.delete(conn));
  }
  return probe;
}

export function capabilitiesOf(llbCaps: APICap[], frontendCaps: APICap[]): EngineCapabilities {
  const llb = new Map(llbCaps.map((c) => [c.id, c]));
  let atLeast: string | undefined;
  for (const id of llb.keys()) {
    const since = dated[id]?.since;
    if (since && (!atLeast || minorOf(since) > minorOf(atLeast))) atLeast = since;
  }
  let below: string | undefined;
  for (const [id, { since }] of Object.entries(dated)) {
    if (llb.has(id) || (atLeast && minorOf(since) <= minorOf(atLeast))) continue;
    if (!below || minorOf(since) < minorOf(below)) below = since;
  }
  return {
    llb,
    frontend: new Map(frontendCaps.map((c) => [c.id, c])),
    atLeast,
    below,
    release: describeRelease(atLeast, below),
  };
}

function describeRelease(atLeast: string | undefined, below: string | undefined): string {
  if (!atLeast) return below ? `older than ${below}` : "unknown";
  if (!below) return `${atLeast} or newer`;
  const last = minorOf(below) - 1;
  return last === minorOf(atLeast) ? atLeast : `${atLeast} to v0.${last}`;
}

/**
 * Fails with one line naming the first feature of `def` the engine cannot run, the
 * release that brought it, and what to do; passes when every declared cap is enabled.
 */
export function assertSupported(def: Definition, caps: EngineCapabilities, endpoint: string): void {
  const needed = new Set<string>();
  for (const meta of Object.values(def.metadata))
    for (const [id, on] of Object.entries(meta.caps)) if (on) needed.add(id);
  for (const id of [...needed].sort()) {
    const cap = caps.llb.get(id);
    if (cap?.enabled) continue;
    const info = dated[id];
    const what = info?.feature ?? `LLB capability ${id}`;
    const engine = `this BuildKit (${caps.release}, judged by its capabilities)`;
    if (cap) {
      const why = cap.disabledReasonMsg || cap.disabledReason || "disabled by the engine";
      throw new HlnError(
        "E_ENGINE_CAPABILITY",
        `${endpoint}: ${what} is disabled on ${engine}: ${why}${cap.disabledAlternative ? ` (instead: ${cap.disabledAlternative})` : ""}`,
      );
    }
    throw new HlnError(
      "E_ENGINE_CAPABILITY",
      `${endpoint}: ${engine} does not support ${what}${info ? `; it needs BuildKit ${info.since} or newer` : ""} (cap ${id})`,
      { hint: "use a newer engine (Docker 23+ or a current buildkitd), or avoid the feature" },
    );
  }
}
