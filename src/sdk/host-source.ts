/**
 * Which results are a host directory sent as is, so what reads one file of it (the
 * Dockerfile of `Directory.dockerBuild`) can ask for that file alone, without the
 * directory's ignore rules, as buildx sends a Dockerfile apart from its context.
 */
import { localSource, type Output, type Vertex } from "../llb/index.js";
import { clientId } from "./client-id.js";

export interface HostSource {
  /** The name the session serves the directory under (`local://NAME`). */
  localName: string;
  /** Its absolute path on this machine. */
  root: string;
}

const sources = new WeakMap<Vertex, HostSource>();

/** Records that `output` is the host directory `source`, unfiltered by include patterns. */
export function registerHostSource(output: Output, source: HostSource): void {
  sources.set(output.vertex, source);
}

/** The host directory `output` is, if it is one. */
export function hostSourceOf(output: Output | null): HostSource | undefined {
  return output ? sources.get(output.vertex) : undefined;
}

/**
 * Only `paths` (relative to the root) of a host directory, its ignore rules left out: what
 * buildx sends as the `dockerfile` source. A shared-key hint of its own keeps the engine's
 * copy of this small source apart from the whole directory's, so neither resends the other.
 */
export function hostFiles(source: HostSource, paths: string[], name: string): Output {
  return localSource(source.localName, {
    followPaths: paths,
    sharedKeyHint: `${source.root}#${paths[0]}`,
    uniqueId: clientId(),
    customName: name,
  });
}
