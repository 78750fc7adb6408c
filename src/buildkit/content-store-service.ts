/**
 * The session's content store: containerd's `Content` service, which BuildKit calls to read
 * and write blobs on the client. The `local` cache type uses it for both directions, and
 * one session may serve several stores; each call names its store in the metadata
 * `buildkit-attachable-store-id` (session/content/attachable.go GRPCHeaderID).
 *
 * BuildKit drives it through containerd's proxy store (content/proxy): `Info` before every
 * read and to learn whether a blob is already there, `Read` for the bytes, and `Write` for
 * new blobs. The stream semantics below follow containerd's own server
 * (services/content/contentserver), which is what BuildKit expects on the other end.
 * `Update`, `List`, `Delete` and `ListStatuses` answer UNIMPLEMENTED: the proxy store would
 * only use them for labels, walks and garbage collection, which remote caches never do.
 */
import { debuglog } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { HlnError, isAbortError } from "../errors.js";
import {
  Content,
  WriteAction,
  type WriteContentRequest,
  type WriteContentResponseSchema,
} from "../gen/containerd/content_pb.js";
import type { SessionService } from "./session.js";
import { sessionMetadata } from "./session-metadata.js";

const debug = debuglog("hln:content");

type WriteResponseInit = MessageInitShape<typeof WriteContentResponseSchema>;

/** The metadata key that names the store a call is for (session/content/attachable.go). */
export const STORE_ID_METADATA = "buildkit-attachable-store-id";

/** A blob in a store. */
export interface BlobInfo {
  digest: string;
  size: number;
  createdAt?: Date;
  updatedAt?: Date;
}

/** Where an ingest stands. */
export interface IngestStatus {
  ref: string;
  /** Bytes written so far. */
  offset: number;
  /** The size the writer announced, 0 when unknown. */
  total: number;
  /** The digest the writer announced, "" when unknown. */
  expected: string;
  startedAt: Date;
  updatedAt: Date;
}

/**
 * A blob being written. Nothing is visible in the store until `commit` succeeds; `discard`
 * (or a failed commit) removes every trace of it.
 */
export interface Ingest {
  readonly ref: string;
  /** Announced by the writer, reported by `status()`; `commit` checks its own arguments. */
  total: number;
  expected: string;
  status(): IngestStatus;
  /** The digest of the bytes written so far. */
  digest(): string;
  /** Appends `data`. */
  write(data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>;
  /** Starts over at offset 0. */
  truncate(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Verifies the bytes against `size` (unless 0) and `digest` (unless "") and makes them a
   * blob. A mismatch fails with FAILED_PRECONDITION and discards the ingest.
   */
  commit(
    expect: { size: number; digest: string },
    options?: { signal?: AbortSignal },
  ): Promise<BlobInfo>;
  /** Drops the ingest and its data. Safe to call twice. */
  discard(): Promise<void>;
}

/**
 * A content-addressed blob store that BuildKit can use through the session. Methods may
 * throw a ConnectError to answer with a specific code; anything else becomes INTERNAL.
 */
export interface ContentStore {
  /** The blob `digest`, or undefined when the store does not have it. */
  info(digest: string, options?: { signal?: AbortSignal }): Promise<BlobInfo | undefined>;
  /** The bytes of `digest` in [offset, offset + length), in chunks of at most 1 MiB. */
  read(
    digest: string,
    range: { offset: number; length: number },
    options?: { signal?: AbortSignal },
  ): AsyncIterable<Uint8Array>;
  /** Starts writing a blob under `ref`. A ref being written already fails with UNAVAILABLE. */
  ingest(ref: string, options?: { signal?: AbortSignal }): Promise<Ingest>;
  /** The ingest named `ref`, or undefined when none is in progress. */
  status(ref: string): IngestStatus | undefined;
  /** Discards the ingest named `ref`; false when there was none. */
  abort(ref: string): Promise<boolean>;
}

/**
 * Serves `containerd.services.content.v1.Content` from `stores`, keyed by store ID (for a
 * local cache: `"local:" + dest` or `src`, see localCacheStoreId). A call for a store
 * that is not there is answered NOT_FOUND.
 *
 * @example
 * const dest = "./cache";
 * const session = await openSession(conn, {
 *   services: [createContentStoreService({ [localCacheStoreId(dest)]: createOciLayoutStore(dest) })],
 * });
 */
export function createContentStoreService(stores: Record<string, ContentStore>): SessionService {
  const known = new Map(Object.entries(stores));

  const choose = (ctx: HandlerContext): ContentStore => {
    // The Go caller joins its own pair before any inherited ones: the first value counts.
    const id = sessionMetadata(ctx, STORE_ID_METADATA)[0];
    if (id === undefined) {
      throw new ConnectError(`request lacks metadata "${STORE_ID_METADATA}"`, Code.InvalidArgument);
    }
    const store = known.get(id);
    if (store === undefined) {
      const served = [...known.keys()].map((k) => JSON.stringify(k)).join(", ") || "none";
      throw new ConnectError(
        `unknown content store ${JSON.stringify(id)} (this session serves: ${served})`,
        Code.NotFound,
      );
    }
    return store;
  };

  return {
    methods: ["Info", "Read", "Status", "Write", "Abort"].map(
      (m) => `/containerd.services.content.v1.Content/${m}`,
    ),
    register(router) {
      router.service(Content, {
        async info(req, ctx) {
          return guard("Info", async () => {
            const digest = checkDigest(req.digest);
            const info = await choose(ctx).info(digest, { signal: ctx.signal });
            debug("info %s: %s", digest, info === undefined ? "not found" : `${info.size} bytes`);
            if (info === undefined) throw notFound(digest);
            return {
              info: {
                digest: info.digest,
                size: BigInt(info.size),
                createdAt: time(info.createdAt),
                updatedAt: time(info.updatedAt),
              },
            };
          });
        },

        async *read(req, ctx) {
          try {
            const digest = checkDigest(req.digest);
            const store = choose(ctx);
            const info = await store.info(digest, { signal: ctx.signal });
            if (info === undefined) throw notFound(digest);
            // Range rules of containerd's server: a negative offset means 0, `size` is how
            // much to read (not the blob's size) and 0 or too much means "to the end".
            const offset = Math.max(0, Number(req.offset));
            if (offset > info.size) {
              throw new ConnectError(`read past object length ${info.size} bytes`, Code.OutOfRange);
            }
            let length = Number(req.size);
            if (length <= 0 || offset + length > info.size) length = info.size - offset;
            debug("read %s: %d bytes at %d", digest, length, offset);
            let at = offset;
            for await (const data of store.read(
              digest,
              { offset, length },
              { signal: ctx.signal },
            )) {
              yield { offset: BigInt(at), data };
              at += data.byteLength;
            }
          } catch (err) {
            throw toConnectError("Read", err);
          }
        },

        async status(req, ctx) {
          return guard("Status", async () => {
            const st = choose(ctx).status(req.ref);
            if (st === undefined) {
              throw new ConnectError(
                `no write in progress for ref ${JSON.stringify(req.ref)}`,
                Code.NotFound,
              );
            }
            return {
              status: {
                ref: st.ref,
                offset: BigInt(st.offset),
                total: BigInt(st.total),
                expected: st.expected,
                startedAt: time(st.startedAt),
                updatedAt: time(st.updatedAt),
              },
            };
          });
        },

        write(requests, ctx) {
          return serveWrite(choose, requests, ctx);
        },

        async abort(req, ctx) {
          return guard("Abort", async () => {
            if (!(await choose(ctx).abort(req.ref))) {
              throw new ConnectError(
                `no write in progress for ref ${JSON.stringify(req.ref)}`,
                Code.NotFound,
              );
            }
            return {};
          });
        },
      });
    },
  };
}

/**
 * One Write stream: the first message names the ingest (`ref`), then each message is
 * answered with where the ingest stands. COMMIT ends the stream; a stream that ends any
 * other way leaves nothing behind (containerd would keep the ingest to resume it, but
 * BuildKit starts every blob afresh).
 */
async function* serveWrite(
  choose: (ctx: HandlerContext) => ContentStore,
  requests: AsyncIterable<WriteContentRequest>,
  ctx: HandlerContext,
): AsyncIterable<WriteResponseInit> {
  const signal = ctx.signal;
  const it = requests[Symbol.asyncIterator]();
  let ingest: Ingest | undefined;
  try {
    let next = await it.next();
    if (next.done) return;
    const first = next.value;
    if (first.ref === "") {
      throw new ConnectError("first message must have a reference", Code.InvalidArgument);
    }
    const store = choose(ctx);
    ingest = await store.ingest(first.ref, { signal });
    ingest.total = Number(first.total);
    ingest.expected = first.expected;
    debug("write %s: started (total %d, expected %s)", first.ref, ingest.total, first.expected);
    for (;;) {
      const req = next.value;
      const res: WriteResponseInit = { action: req.action };
      if (req.expected !== "") {
        ingest.expected = req.expected;
        // BuildKit skips blobs the store has; ALREADY_EXISTS is how it learns (content.OpenWriter).
        if (DIGEST.test(req.expected) && (await store.info(req.expected, { signal }))) {
          throw new ConnectError(
            `blob with expected digest ${req.expected} exists`,
            Code.AlreadyExists,
          );
        }
      }
      if (req.total > 0n) ingest.total = Number(req.total);
      if (req.action === WriteAction.STAT) {
        const st = ingest.status();
        Object.assign(res, {
          offset: BigInt(st.offset),
          total: BigInt(st.total),
          digest: ingest.digest(),
          startedAt: time(st.startedAt),
          updatedAt: time(st.updatedAt),
        });
      } else if (req.action === WriteAction.WRITE || req.action === WriteAction.COMMIT) {
        const offset = Number(req.offset);
        const current = ingest.status().offset;
        if (offset > 0 && offset !== current) {
          throw new ConnectError(
            `write @${offset} must occur at current offset ${current}`,
            Code.OutOfRange,
          );
        }
        // Offset 0 on a started ingest means "start over" (the proxy writer's Truncate(0)).
        if (offset === 0 && current > 0) await ingest.truncate({ signal });
        if (req.data.byteLength > 0) await ingest.write(req.data, { signal });
        if (req.action === WriteAction.COMMIT) {
          const blob = await ingest.commit(
            { size: ingest.total, digest: ingest.expected },
            { signal },
          );
          debug("write %s: committed %s (%d bytes)", ingest.ref, blob.digest, blob.size);
          ingest = undefined;
          yield { action: req.action, offset: BigInt(blob.size), digest: blob.digest };
          return;
        }
        res.offset = BigInt(ingest.status().offset);
        res.digest = ingest.digest();
      } else {
        throw new ConnectError(`unknown write action ${req.action}`, Code.InvalidArgument);
      }
      yield res;
      next = await it.next();
      if (next.done) return;
    }
  } catch (err) {
    throw toConnectError("Write", err);
  } finally {
    if (ingest !== undefined) {
      debug("write %s: not committed, discarded", ingest.ref);
      await ingest.discard();
    }
  }
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Only sha256: the digest names the file, so nothing else may reach the store. */
function checkDigest(digest: string): string {
  if (!DIGEST.test(digest)) {
    throw new ConnectError(
      `${JSON.stringify(digest)} is not a sha256 digest`,
      Code.InvalidArgument,
    );
  }
  return digest;
}

function notFound(digest: string): ConnectError {
  return new ConnectError(`content ${digest}: not found`, Code.NotFound);
}

function time(d: Date | undefined): Timestamp | undefined {
  return d === undefined ? undefined : timestampFromDate(d);
}

async function guard<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectError(method, err);
  }
}

/** Keeps the codes BuildKit acts on; other failures keep their message. */
function toConnectError(method: string, err: unknown): ConnectError {
  if (err instanceof ConnectError) {
    if (err.code !== Code.NotFound && err.code !== Code.AlreadyExists) {
      debug("%s: %s", method, err.message);
    }
    return err;
  }
  if (isAbortError(err) || (err instanceof HlnError && err.code === "E_ABORTED")) {
    return new ConnectError("cancelled", Code.Canceled, undefined, undefined, err);
  }
  const message = err instanceof Error ? err.message : String(err);
  debug("%s failed: %s", method, message);
  return new ConnectError(message, Code.Internal, undefined, undefined, err);
}
