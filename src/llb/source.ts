/**
 * Source ops: where content enters the graph. Identifier schemes and attribute keys are
 * BuildKit facts (solver/pb/attr.go); which attrs and caps are set follows the Go client
 * (client/llb/source.go).
 */

import { create } from "@bufbuild/protobuf";
import { SourceOpSchema } from "../gen/buildkit/ops_pb.js";
import { Cap } from "./caps.js";
import { normalizeImageRef } from "./image-ref.js";
import type { Platform } from "./platform.js";
import { createVertex, type Output, outputOf } from "./vertex.js";

/** How the daemon resolves an image tag (attr `image.resolvemode`). */
export type ResolveMode = "default" | "pull" | "local";

export interface ImageSourceOptions {
  /** The image platform; set on the op as the Go client does for `docker-image://`. */
  readonly platform: Platform;
  /**
   * `default` (registry unless cached), `pull` (always ask the registry), `local` (prefer the
   * engine's image store; buildx uses it with the docker driver). Default: `default`.
   */
  readonly resolveMode?: ResolveMode;
  /** Progress display name (`llb.customname`). */
  readonly customName?: string;
}

/**
 * A `docker-image://` source. The reference is normalised first (`alpine` =>
 * `docker.io/library/alpine:latest`).
 *
 * @example imageSource("alpine", { platform: { os: "linux", architecture: "amd64" } })
 */
export function imageSource(ref: string, opts: ImageSourceOptions): Output {
  const attrs: Record<string, string> = {};
  const caps: string[] = [Cap.sourceImage];
  // Go writes the attr only for a non-default mode (its ResolveModeDefault is the zero value,
  // so "default" never reaches the wire) and requires the cap only for "pull", the mode
  // whose silent loss on an old daemon would change behaviour (client/llb/source.go Image).
  if (opts.resolveMode !== undefined && opts.resolveMode !== "default") {
    attrs["image.resolvemode"] = opts.resolveMode;
    if (opts.resolveMode === "pull") caps.push(Cap.sourceImageResolveMode);
  }
  const vertex = createVertex({
    inputs: [],
    op: {
      case: "source",
      value: create(SourceOpSchema, {
        identifier: `docker-image://${normalizeImageRef(ref)}`,
        attrs,
      }),
    },
    platform: opts.platform,
    customName: opts.customName,
    caps,
  });
  return outputOf(vertex);
}

export interface LocalSourceOptions {
  /**
   * Session that serves the directory (attr `local.session`). When absent, `uniqueId` must be
   * given: the Go client then sets `local.unique` so two clients never share a cache key.
   */
  readonly sessionId?: string;
  /** Random per-client ID (attr `local.unique`), used when there is no `sessionId`. */
  readonly uniqueId?: string;
  readonly includePatterns?: readonly string[];
  readonly excludePatterns?: readonly string[];
  readonly followPaths?: readonly string[];
  /** Cache hint shared across sessions (attr `local.sharedkeyhint`). */
  readonly sharedKeyHint?: string;
  readonly customName?: string;
}

/**
 * A `local://<name>` source: a directory the client serves over the session's FileSync
 * (`name` is its `dir-name`). Platform-neutral, so no platform is set.
 *
 * @example
 * const context = localSource("context", { sessionId: session.id, excludePatterns: ["node_modules"] });
 */
export function localSource(name: string, opts: LocalSourceOptions = {}): Output {
  const attrs: Record<string, string> = {};
  const caps: string[] = [Cap.sourceLocal];
  if (opts.sessionId) {
    attrs["local.session"] = opts.sessionId;
    caps.push(Cap.sourceLocalSessionId);
  } else if (opts.uniqueId) {
    attrs["local.unique"] = opts.uniqueId;
    caps.push(Cap.sourceLocalUnique);
  }
  // Pattern lists travel as JSON arrays in one attr; an empty list sets nothing.
  if (opts.includePatterns?.length) {
    attrs["local.includepattern"] = goJsonStringArray(opts.includePatterns);
    caps.push(Cap.sourceLocalIncludePatterns);
  }
  if (opts.followPaths?.length) {
    attrs["local.followpaths"] = goJsonStringArray(opts.followPaths);
    caps.push(Cap.sourceLocalFollowPaths);
  }
  if (opts.excludePatterns?.length) {
    attrs["local.excludepatterns"] = goJsonStringArray(opts.excludePatterns);
    caps.push(Cap.sourceLocalExcludePatterns);
  }
  if (opts.sharedKeyHint) {
    attrs["local.sharedkeyhint"] = opts.sharedKeyHint;
    caps.push(Cap.sourceLocalSharedKeyHint);
  }
  const vertex = createVertex({
    inputs: [],
    op: { case: "source", value: create(SourceOpSchema, { identifier: `local://${name}`, attrs }) },
    customName: opts.customName,
    caps,
  });
  return outputOf(vertex);
}

/**
 * JSON like Go's encoding/json: it escapes <, >, & and U+2028/U+2029, which JSON.stringify
 * leaves as they are. The attr value is hashed, so the bytes must match.
 */
export function goJsonStringArray(items: readonly string[]): string {
  return JSON.stringify(items).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
