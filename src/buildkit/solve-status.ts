/**
 * Progress of a solve as plain data, decoded from BuildKit's Status stream
 * (Control.Status: vertexes, statuses, logs, warnings). The same vertex arrives many
 * times as it changes; consumers merge by `digest` (vertexes) and `(vertex, id)`
 * (statuses). Several solves running on one session each send their own updates;
 * BuildKit gives a vertex shared by two solves the same digest in both.
 */

/** One state of one LLB vertex (a build step). */
export interface VertexUpdate {
  /** The op digest, `sha256:<hex>`. */
  digest: string;
  /** Display name: the op's `llb.customname`, or what BuildKit derives. */
  name: string;
  /** Digests of the vertices this one depends on. */
  inputs: string[];
  /** True when the result came from the cache and nothing ran. */
  cached: boolean;
  started?: Date;
  completed?: Date;
  /** Set when the vertex failed; BuildKit's error text. */
  error?: string;
}

/** A progress counter inside a vertex (bytes pulled, files transferred). */
export interface VertexProgress {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp: Date;
  started?: Date;
  completed?: Date;
}

/** A chunk of a running step's output. Not line-aligned. */
export interface VertexLogChunk {
  vertex: string;
  timestamp: Date;
  /** 1 is stdout, 2 is stderr. */
  stream: number;
  data: Uint8Array;
}

export interface VertexWarningEntry {
  vertex: string;
  level: number;
  short: string;
  detail: string[];
  url?: string;
}

/** One message of the Status stream. */
export interface SolveStatus {
  vertexes: VertexUpdate[];
  statuses: VertexProgress[];
  logs: VertexLogChunk[];
  warnings: VertexWarningEntry[];
}
