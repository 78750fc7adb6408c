/**
 * Which results are a host directory sent as is, so what reads one file of it (the
 * Dockerfile of `Directory.dockerBuild`) can ask for that file alone, without the
 * directory's ignore rules, as buildx sends a Dockerfile apart from its context.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HlnError } from "../errors.js";
import { localSource, type Output, type Vertex } from "../llb/index.js";
import { clientId } from "./client-id.js";
import type { CopyFilter } from "./directory.js";
import { checkedIgnoreFile } from "./ignore-file.js";

export interface HostSource {
  /** The name the session serves the directory under (`local://NAME`). */
  localName: string;
  /** Its absolute path on this machine. */
  root: string;
  /** The include and exclude options it was asked for with, beside its ignore file. */
  own: CopyFilter;
  /** Its name in progress. */
  name: string;
}

const sources = new WeakMap<Vertex, HostSource>();

/** Records that `output` is the whole host directory `source`. */
export function registerHostSource(output: Output, source: HostSource): void {
  sources.set(output.vertex, source);
}

/** The host directory `output` is, if it is one. */
export function hostSourceOf(output: Output | null): HostSource | undefined {
  return output ? sources.get(output.vertex) : undefined;
}

/**
 * A host directory as a `local://` source. One local name per host path, and the path as
 * the shared-key hint: BuildKit keeps what it received under them (plus the session's
 * shared key), so the next run sends only what changed.
 */
export function hostLocalSource(
  source: Pick<HostSource, "localName" | "root">,
  filter: { includePatterns?: string[] | undefined; excludePatterns?: string[] | undefined },
  name: string,
): Output {
  return localSource(source.localName, {
    includePatterns: filter.includePatterns?.length ? filter.includePatterns : undefined,
    excludePatterns: filter.excludePatterns?.length ? filter.excludePatterns : undefined,
    sharedKeyHint: source.root,
    uniqueId: clientId(),
    customName: name,
  });
}

/**
 * Only `paths` (relative to the root) of a host directory, its ignore rules left out: what
 * buildx sends as the `dockerfile` source. A shared-key hint of its own keeps the engine's
 * copy of this small source apart from the whole directory's, so neither resends the other.
 */
export function hostFiles(
  source: Pick<HostSource, "localName" | "root">,
  paths: string[],
  name: string,
): Output {
  return localSource(source.localName, {
    followPaths: paths,
    sharedKeyHint: `${source.root}#${paths[0]}`,
    uniqueId: clientId(),
    customName: name,
  });
}

/**
 * The context for the Dockerfile at `dockerfile` (relative to the root) when a
 * `<dockerfile>.dockerignore` sits beside it: as with buildx, that file replaces the
 * directory's own ignore file for this build. Undefined when there is none.
 */
export function dockerfileContext(source: HostSource, dockerfile: string): Output | undefined {
  const file = join(source.root, `${dockerfile}.dockerignore`);
  let patterns: string[];
  try {
    patterns = checkedIgnoreFile(file, readFileSync(file, "utf8"));
  } catch (err) {
    if (err instanceof HlnError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new HlnError("E_INPUT_INVALID", `${file}: ${(err as Error).message}`, { cause: err });
  }
  return hostLocalSource(
    source,
    {
      includePatterns: source.own.include,
      excludePatterns: [...patterns, ...(source.own.exclude ?? [])],
    },
    source.name,
  );
}
