/**
 * Exec ops: run a process over a root filesystem plus mounts. Layout and caps follow the Go
 * client (client/llb/exec.go ExecOp.Marshal), so the same step hashes the same from either:
 * - mounts are sorted by dest (bytewise), which puts the root mount "/" first;
 * - writable bind mounts (not readonly, cache or tmpfs) get outputs 0, 1, 2... in that order,
 *   every other mount gets -1 ("no output");
 * - identical inputs appear once in Op.inputs;
 * - secret mounts follow the sorted mounts, in the order given, with input -1 and output 0
 *   left unset (the Go client never sets Mount.output on secrets; checked against the digest
 *   a Docker 26 engine reports, see testdata/engine-crosscheck.json);
 * - Meta.removeMountStubsRecursive is always true (without a cap, see below); the op always
 *   carries its platform.
 */

import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import {
  CacheOptSchema,
  CacheSharingOpt,
  ExecOpSchema,
  type Mount,
  MountSchema,
  MountType,
  NetMode,
  SecretOptSchema,
  TmpfsOptSchema,
} from "../gen/buildkit/ops_pb.js";
import { compareBytewise } from "./bytewise.js";
import { Cap } from "./caps.js";
import type { Platform } from "./platform.js";
import { createVertex, type OpBody, type Output, outputOf, type Vertex } from "./vertex.js";

/** A filesystem mounted into the process. `source: null` means an empty (scratch) directory. */
export type MountSpec =
  | {
      readonly dest: string;
      readonly kind: "bind";
      readonly source: Output | null;
      /** Subpath of `source` to mount. */
      readonly selector?: string;
      /** Readonly mounts produce no output. Default false. */
      readonly readonly?: boolean;
    }
  | {
      readonly dest: string;
      readonly kind: "cache";
      /** Cache identity; mounts with the same id share content across builds. */
      readonly id: string;
      readonly sharing: "shared" | "private" | "locked";
      /** Initial content for a new cache. */
      readonly source?: Output | null;
    }
  | {
      readonly dest: string;
      readonly kind: "tmpfs";
      /** Size limit in bytes; unlimited (daemon default) when absent. */
      readonly size?: number;
    }
  | {
      readonly dest: string;
      readonly kind: "secret";
      /** Secret ID the session's secrets provider is asked for. */
      readonly id: string;
      /** Default 0. */
      readonly uid?: number;
      /** Default 0. */
      readonly gid?: number;
      /** File mode; default 0o400 like the Go client (client/llb/exec.go AddSecret). */
      readonly mode?: number;
      /** Do not fail when the client has no such secret. Default false. */
      readonly optional?: boolean;
    };

export interface ExecOptions {
  /** Root filesystem; `null` runs on scratch. */
  readonly root: Output | null;
  /** argv; must not be empty. */
  readonly args: readonly string[];
  /** `KEY=value` entries, sent as given. */
  readonly env: readonly string[];
  /** Absolute working directory; must not be empty. */
  readonly cwd: string;
  /** `uid[:gid]` or a user name; the image default when absent. */
  readonly user?: string;
  /**
   * Supplies env, cwd and user when the op is first marshaled instead of now, for a
   * process that inherits them from an image whose config is not known yet. Overrides
   * `env`, `cwd` and `user`.
   */
  readonly process?: () => { env: readonly string[]; cwd: string; user?: string };
  /** Default `sandbox`. `host` needs the `network.host` entitlement. */
  readonly network?: "sandbox" | "host" | "none";
  /** Exit codes that count as success; only 0 when absent. Needs BuildKit v0.17. */
  readonly validExitCodes?: readonly number[];
  readonly mounts?: readonly MountSpec[];
  /** Environment variables whose values are secrets, fetched from the session at run time. */
  readonly secretEnv?: readonly {
    readonly id: string;
    readonly name: string;
    readonly optional?: boolean;
  }[];
  readonly platform: Platform;
  readonly customName?: string;
  readonly ignoreCache?: boolean;
}

export interface ExecResult {
  /** The root filesystem after the process ran (output 0). */
  readonly root: Output;
  /** The resulting content of each writable bind mount, by dest. */
  readonly mounts: ReadonlyMap<string, Output>;
}

const SHARING: Readonly<Record<"shared" | "private" | "locked", CacheSharingOpt>> = {
  shared: CacheSharingOpt.SHARED,
  private: CacheSharingOpt.PRIVATE,
  locked: CacheSharingOpt.LOCKED,
};

const NETWORK: Readonly<Record<"sandbox" | "host" | "none", NetMode>> = {
  sandbox: NetMode.UNSET,
  host: NetMode.HOST,
  none: NetMode.NONE,
};

/** pb.Empty / pb.SkipOutput: "no input" (scratch) and "no output". */
const NONE = -1n;

type FsMount = Exclude<MountSpec, { kind: "secret" }>;
type SecretMount = Extract<MountSpec, { kind: "secret" }>;

/**
 * An exec op. Returns the root output and the outputs of writable bind mounts.
 *
 * @example
 * const { root } = exec({ root: img, args: ["sh", "-c", "make"], env: ["PATH=/bin"], cwd: "/src",
 *   platform, mounts: [{ dest: "/root/.cache", kind: "cache", id: "go", sharing: "shared" }] });
 */
export function exec(opts: ExecOptions): ExecResult {
  validate(opts);
  const specs = opts.mounts ?? [];
  const rootMount: FsMount = { dest: "/", kind: "bind", source: opts.root };
  const fsMounts = [rootMount, ...specs.filter((m): m is FsMount => m.kind !== "secret")];
  // Go sorts with strings.Compare (bytewise); sort is stable and dests are unique.
  fsMounts.sort((a, b) => compareBytewise(a.dest, b.dest));
  const secrets = specs.filter((m): m is SecretMount => m.kind === "secret");

  const inputs: Output[] = [];
  const inputIndex = (source: Output | null | undefined): bigint => {
    if (!source) return NONE;
    const i = inputs.findIndex((o) => o.vertex === source.vertex && o.index === source.index);
    if (i !== -1) return BigInt(i);
    inputs.push(source);
    return BigInt(inputs.length - 1);
  };

  // Meta.removeMountStubsRecursive gets no cap: solver/pb/caps.go defines
  // "exec.meta.removemountstubs.recursive" but never registers it, so a daemon would answer
  // "unknown API capability"; the Go client does not declare it either (client/llb/exec.go).
  const caps = new Set<string>([Cap.execMetaBase]);
  if (opts.secretEnv?.length) caps.add(Cap.execSecretEnv);
  // Writable mounts take output indices in dest order, so "/" always gets 0.
  let outputs = 0n;
  const nextOutput = () => outputs++;
  const mounts: Mount[] = fsMounts.map((m) => fsMount(m, inputIndex, nextOutput, caps));

  for (const s of secrets) {
    caps.add(Cap.execMountSecret);
    mounts.push(
      create(MountSchema, {
        input: NONE,
        dest: s.dest,
        mountType: MountType.SECRET,
        secretOpt: create(SecretOptSchema, {
          id: s.id,
          uid: s.uid ?? 0,
          gid: s.gid ?? 0,
          mode: s.mode ?? 0o400,
          optional: s.optional ?? false,
        }),
      }),
    );
  }

  const network = opts.network ?? "sandbox";
  if (network !== "sandbox") caps.add(Cap.execMetaNetwork);
  if (opts.validExitCodes !== undefined) caps.add(Cap.execValidExitCode);

  const op = (p: { env: readonly string[]; cwd: string; user?: string }): OpBody => {
    if (p.cwd === "") throw new HlnError("E_INTERNAL", "exec: cwd must not be empty");
    return {
      case: "exec",
      value: create(ExecOpSchema, {
        meta: {
          args: [...opts.args],
          env: [...p.env],
          cwd: p.cwd,
          user: p.user ?? "",
          removeMountStubsRecursive: true,
          validExitCodes: opts.validExitCodes ? [...opts.validExitCodes] : [],
        },
        mounts,
        network: NETWORK[network],
        secretenv: (opts.secretEnv ?? []).map((e) => ({
          id: e.id,
          name: e.name,
          optional: e.optional ?? false,
        })),
      }),
    };
  };
  const late = opts.process;
  const vertex: Vertex = createVertex({
    inputs,
    op: late ? () => op(late()) : op(opts),
    platform: opts.platform,
    customName: opts.customName,
    caps,
    ignoreCache: opts.ignoreCache,
  });

  const byDest = new Map<string, Output>();
  for (const pm of mounts) {
    if (pm.output === NONE || pm.mountType !== MountType.BIND) continue;
    if (pm.dest !== "/") byDest.set(pm.dest, outputOf(vertex, Number(pm.output)));
  }
  return { root: outputOf(vertex, 0), mounts: byDest };
}

function fsMount(
  m: FsMount,
  inputIndex: (source: Output | null | undefined) => bigint,
  nextOutput: () => bigint,
  caps: Set<string>,
): Mount {
  switch (m.kind) {
    case "bind": {
      if (m.selector) caps.add(Cap.execMountSelector);
      if (m.source) caps.add(Cap.execMountBind);
      const readonly = m.readonly ?? false;
      return create(MountSchema, {
        input: inputIndex(m.source),
        selector: m.selector ?? "",
        dest: m.dest,
        output: readonly ? NONE : nextOutput(),
        readonly,
      });
    }
    case "cache":
      caps.add(Cap.execMountCache);
      caps.add(Cap.execMountCacheSharing);
      return create(MountSchema, {
        input: inputIndex(m.source),
        dest: m.dest,
        output: NONE,
        mountType: MountType.CACHE,
        cacheOpt: create(CacheOptSchema, { id: m.id, sharing: SHARING[m.sharing] }),
      });
    case "tmpfs":
      caps.add(Cap.execMountTmpfs);
      if (m.size !== undefined && m.size > 0) caps.add(Cap.execMountTmpfsSize);
      return create(MountSchema, {
        input: NONE,
        dest: m.dest,
        output: NONE,
        mountType: MountType.TMPFS,
        // Go always sets TmpfsOpt on tmpfs mounts, so an unsized one still encodes `9a 01 00`.
        tmpfsOpt: create(TmpfsOptSchema, { size: BigInt(m.size ?? 0) }),
      });
  }
}

function validate(opts: ExecOptions): void {
  const fail = (msg: string): never => {
    throw new HlnError("E_INPUT_INVALID", `exec ${JSON.stringify(opts.args.join(" "))}: ${msg}`);
  };
  // The same checks as the Go client's ExecOp.Validate, plus ones that would otherwise
  // produce an op the daemon rejects or misreads.
  if (opts.args.length === 0) fail("arguments are required");
  if (opts.cwd === "") fail("working directory is required");
  const seen = new Set<string>(["/"]);
  for (const m of opts.mounts ?? []) {
    if (!m.dest.startsWith("/"))
      fail(`mount destination ${JSON.stringify(m.dest)} must be absolute`);
    if (seen.has(m.dest)) {
      fail(
        m.dest === "/"
          ? `mount destination "/" is the root filesystem; pass it as root`
          : `two mounts at ${JSON.stringify(m.dest)}`,
      );
    }
    seen.add(m.dest);
    if (
      m.kind === "tmpfs" &&
      m.size !== undefined &&
      !(Number.isSafeInteger(m.size) && m.size >= 0)
    ) {
      fail(`tmpfs size ${m.size} at ${m.dest} must be a non-negative integer`);
    }
  }
  for (const code of opts.validExitCodes ?? []) {
    if (!Number.isInteger(code) || code < -2147483648 || code > 2147483647) {
      fail(`valid exit code ${code} is not an int32`);
    }
  }
}
