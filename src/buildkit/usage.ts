import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { UsageRecord } from "../gen/buildkit/control_pb.js";
import type { BuildkitConnection } from "./connection.js";

/** One record of BuildKit's cache, as plain data. */
export interface CacheRecord {
  id: string;
  type: string;
  description: string;
  size: number;
  inUse: boolean;
  shared: boolean;
  mutable: boolean;
  usageCount: number;
  createdAt?: Date;
  lastUsedAt?: Date;
}

function record(r: UsageRecord): CacheRecord {
  return {
    id: r.id,
    type: r.recordType,
    description: r.description,
    size: Number(r.size),
    inUse: r.inUse,
    shared: r.shared,
    mutable: r.mutable,
    usageCount: Number(r.usageCount),
    createdAt: r.createdAt ? timestampDate(r.createdAt) : undefined,
    lastUsedAt: r.lastUsedAt ? timestampDate(r.lastUsedAt) : undefined,
  };
}

/**
 * The engine's build cache records, as `docker buildx du` lists them.
 *
 * @example
 * const records = await diskUsage(conn);
 * console.log(records.reduce((n, r) => n + r.size, 0), "bytes of build cache");
 */
export async function diskUsage(
  conn: BuildkitConnection,
  options: { signal?: AbortSignal } = {},
): Promise<CacheRecord[]> {
  const res = await conn.control.diskUsage({}, { signal: options.signal });
  return res.record.map(record);
}

export interface PruneOptions {
  /** Remove everything, not only what BuildKit considers reclaimable (internal and frontend records too). */
  all?: boolean;
  /** Keep records used within this many milliseconds. */
  keepDurationMs?: number;
  signal?: AbortSignal;
  /** Called for each record as BuildKit deletes it. */
  onRecord?: (r: CacheRecord) => void;
}

/**
 * Removes build cache (what BuildKit considers reclaimable unless `all`), and resolves with
 * the records removed.
 *
 * @example
 * const removed = await prune(conn, { keepDurationMs: 7 * 24 * 3600 * 1000 });
 * console.log(removed.length, "records removed");
 */
export async function prune(
  conn: BuildkitConnection,
  options: PruneOptions = {},
): Promise<CacheRecord[]> {
  const out: CacheRecord[] = [];
  const stream = conn.control.prune(
    {
      all: options.all ?? false,
      // BuildKit takes nanoseconds (PruneRequest.keepDuration).
      keepDuration: BigInt(Math.round((options.keepDurationMs ?? 0) * 1e6)),
    },
    { signal: options.signal },
  );
  for await (const r of stream) {
    const rec = record(r);
    out.push(rec);
    options.onRecord?.(rec);
  }
  return out;
}
