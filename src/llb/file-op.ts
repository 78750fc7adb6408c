/**
 * File ops: a chain of filesystem actions (mkfile, mkdir, rm, copy) run by the daemon without
 * a container. Layout follows the Go client (client/llb/fileop.go FileOp.Marshal):
 * - Op.inputs holds the base (when not scratch) then each copy source, de-duplicated;
 * - the first action reads the base (or -1 for scratch); each later action reads the previous
 *   action's result, addressed as `len(Op.inputs) + previous action index`;
 * - only the last action has output 0, the others -1;
 * - unset timestamps and an unset copy mode are -1; mkfile/mkdir modes are masked to 0o777;
 * - owners are ChownOpt{user, group}; a name is resolved against the base's /etc/passwd;
 * - paths are absolute and cleaned like Go's path.Clean;
 * - the op carries no platform (file ops are platform-neutral).
 */

import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import {
  type ChownOpt,
  ChownOptSchema,
  type FileAction,
  FileActionCopySchema,
  FileActionMkDirSchema,
  FileActionMkFileSchema,
  FileActionRmSchema,
  FileActionSchema,
  FileOpSchema,
  type UserOpt,
  UserOptSchema,
} from "../gen/buildkit/ops_pb.js";
import { Cap } from "./caps.js";
import { absolutePath } from "./go-path.js";
import { createVertex, type Output, outputOf } from "./vertex.js";

/** A user or group: numeric ID, or a name looked up in the base filesystem's /etc/passwd. */
export type UserRef = number | string;

/** Owner of created files. Without `group` the daemon uses the user's primary group. */
export interface FileOwner {
  readonly user: UserRef;
  readonly group?: UserRef;
}

export type FileActionSpec =
  | {
      readonly kind: "mkfile";
      readonly path: string;
      readonly data: Uint8Array;
      /** Permission bits; masked to 0o777 as the Go client does. */
      readonly mode: number;
      readonly owner?: FileOwner;
      /** File mtime; unset (-1) when absent. */
      readonly createdTime?: Date;
    }
  | {
      readonly kind: "mkdir";
      readonly path: string;
      /** Permission bits; masked to 0o777. */
      readonly mode: number;
      /** Create missing parents (`mkdir -p`). Default false. */
      readonly makeParents?: boolean;
      readonly owner?: FileOwner;
      readonly createdTime?: Date;
    }
  | {
      readonly kind: "rm";
      readonly path: string;
      /** Default false. */
      readonly allowNotFound?: boolean;
      /** Treat `path` as a glob. Default false. */
      readonly allowWildcard?: boolean;
    }
  | {
      readonly kind: "copy";
      /** Where to copy from; `null` is scratch. */
      readonly src: Output | null;
      readonly srcPath: string;
      /** A trailing "/" means "into this directory". */
      readonly destPath: string;
      /** Mode for copied files; kept as they are (-1 on the wire) when absent. */
      readonly mode?: number;
      readonly followSymlink?: boolean;
      /** Copy a directory's contents rather than the directory itself. */
      readonly dirCopyContents?: boolean;
      /** Unpack archives like Docker's ADD. */
      readonly attemptUnpack?: boolean;
      readonly createDestPath?: boolean;
      readonly allowWildcard?: boolean;
      readonly allowEmptyWildcard?: boolean;
      readonly includePatterns?: readonly string[];
      readonly excludePatterns?: readonly string[];
      readonly owner?: FileOwner;
      readonly createdTime?: Date;
    };

export interface FileOpOptions {
  /** The filesystem the first action works on; scratch when null or absent. */
  readonly base?: Output | null;
  /** At least one action; each works on the previous one's result. */
  readonly actions: readonly FileActionSpec[];
  readonly customName?: string;
  readonly ignoreCache?: boolean;
}

/** pb.Empty / pb.SkipOutput. */
const NONE = -1n;

/**
 * A file op; its output is the result of the last action.
 *
 * @example
 * fileOp({ base: img, actions: [
 *   { kind: "mkdir", path: "/app", mode: 0o755, makeParents: true },
 *   { kind: "copy", src: ctx, srcPath: "/", destPath: "/app/", dirCopyContents: true } ] })
 */
export function fileOp(opts: FileOpOptions): Output {
  if (opts.actions.length === 0) {
    throw new HlnError("E_INPUT_INVALID", "file operation needs at least one action");
  }
  const base = opts.base ?? null;

  const inputs: Output[] = [];
  const addInput = (o: Output): bigint => {
    const i = inputs.findIndex((x) => x.vertex === o.vertex && x.index === o.index);
    if (i !== -1) return BigInt(i);
    inputs.push(o);
    return BigInt(inputs.length - 1);
  };
  // Go adds the base before the copy sources, so it is input 0 whenever it exists.
  const baseIndex = base ? addInput(base) : NONE;
  const secondary = opts.actions.map((a) => (a.kind === "copy" && a.src ? addInput(a.src) : NONE));

  const caps = new Set<string>([Cap.fileBase]);
  const last = opts.actions.length - 1;
  const actions: FileAction[] = opts.actions.map((spec, i) => {
    const input = i === 0 ? baseIndex : BigInt(inputs.length + i - 1);
    return create(FileActionSchema, {
      input,
      secondaryInput: secondary[i]!,
      output: i === last ? 0n : NONE,
      action: toAction(spec, baseIndex, caps),
    });
  });

  const vertex = createVertex({
    inputs,
    op: { case: "file", value: create(FileOpSchema, { actions }) },
    customName: opts.customName,
    caps,
    ignoreCache: opts.ignoreCache,
  });
  return outputOf(vertex);
}

function toAction(spec: FileActionSpec, base: bigint, caps: Set<string>): FileAction["action"] {
  switch (spec.kind) {
    case "mkfile":
      return {
        case: "mkfile",
        value: create(FileActionMkFileSchema, {
          path: absolutePath(spec.path),
          mode: checkMode(spec.mode, spec.path) & 0o777,
          data: spec.data,
          owner: chown(spec.owner, base),
          timestamp: unixNanos(spec.createdTime),
        }),
      };
    case "mkdir":
      return {
        case: "mkdir",
        value: create(FileActionMkDirSchema, {
          path: absolutePath(spec.path),
          mode: checkMode(spec.mode, spec.path) & 0o777,
          makeParents: spec.makeParents ?? false,
          owner: chown(spec.owner, base),
          timestamp: unixNanos(spec.createdTime),
        }),
      };
    case "rm":
      return {
        case: "rm",
        value: create(FileActionRmSchema, {
          path: absolutePath(spec.path),
          allowNotFound: spec.allowNotFound ?? false,
          allowWildcard: spec.allowWildcard ?? false,
        }),
      };
    case "copy": {
      const includePatterns = [...(spec.includePatterns ?? [])];
      const excludePatterns = [...(spec.excludePatterns ?? [])];
      if (includePatterns.length > 0 || excludePatterns.length > 0) {
        caps.add(Cap.fileCopyIncludeExcludePatterns);
      }
      return {
        case: "copy",
        value: create(FileActionCopySchema, {
          src: absolutePath(spec.srcPath),
          dest: absolutePath(spec.destPath, true),
          owner: chown(spec.owner, base),
          mode: spec.mode === undefined ? -1 : checkMode(spec.mode, spec.destPath),
          followSymlink: spec.followSymlink ?? false,
          dirCopyContents: spec.dirCopyContents ?? false,
          attemptUnpackDockerCompatibility: spec.attemptUnpack ?? false,
          createDestPath: spec.createDestPath ?? false,
          allowWildcard: spec.allowWildcard ?? false,
          allowEmptyWildcard: spec.allowEmptyWildcard ?? false,
          timestamp: unixNanos(spec.createdTime),
          includePatterns,
          excludePatterns,
        }),
      };
    }
  }
}

function chown(owner: FileOwner | undefined, base: bigint): ChownOpt | undefined {
  if (owner === undefined) return undefined;
  return create(ChownOptSchema, {
    user: userOpt(owner.user, base),
    ...(owner.group === undefined ? {} : { group: userOpt(owner.group, base) }),
  });
}

// UserOpt is a oneof, so byId 0 (root) is still written (`10 00`); Go does the same.
function userOpt(u: UserRef, base: bigint): UserOpt {
  if (typeof u === "number") {
    if (!Number.isInteger(u) || u < 0 || u > 0xffffffff) {
      throw new HlnError("E_INPUT_INVALID", `invalid user or group id ${u}`);
    }
    return create(UserOptSchema, { user: { case: "byId", value: u } });
  }
  return create(UserOptSchema, { user: { case: "byName", value: { name: u, input: base } } });
}

// Unix nanoseconds, -1 when unset: 0 would mean 1970 (fileop.go marshalTime).
function unixNanos(t: Date | undefined): bigint {
  if (t === undefined) return NONE;
  const ms = t.getTime();
  if (Number.isNaN(ms)) throw new HlnError("E_INPUT_INVALID", "invalid date for file timestamp");
  return BigInt(ms) * 1_000_000n;
}

function checkMode(mode: number, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0x7fffffff) {
    throw new HlnError("E_INPUT_INVALID", `invalid file mode ${mode} for ${JSON.stringify(path)}`);
  }
  return mode;
}
