/**
 * Where the ledger keeps its entries: one small JSON file per key in a private directory
 * (0700, files 0600), each written whole (replace-file). An entry that cannot be read or
 * does not parse is a miss, never an error: the request then simply runs on the engine.
 */

import { chmod, readdir, readFile, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { debuglog } from "node:util";
import { makeDirectories } from "../make-directories.js";
import { replaceFile } from "../replace-file.js";

const debug = debuglog("hln:ledger");

/** Bumped when an entry's shape or meaning changes: older entries are then misses. */
export const ledgerFormat = 1;

/** A file the ledger compares by content because its timestamps were too fresh to trust. */
export interface RacyFile {
  path: string;
  /** `sha256:<hex>` of its bytes when recorded. */
  digest: string;
}

export interface LedgerEntry {
  format: number;
  key: string;
  /** What was asked, for a person reading the file: `read /out.txt`, `sync`. */
  kind: string;
  /** Epoch ms when the answer was recorded. */
  recordedAt: number;
  /** The engine's answer as base64, for requests that return bytes. */
  answer?: string;
  /** An exporter's response (image digests...). */
  response?: Record<string, string>;
  /** Synced files that are compared by content as well as by their stat. */
  racy: RacyFile[];
  /** For an export to the host: where, and a fingerprint of what was there after it. */
  destination?: { path: string; digest: string; racy: RacyFile[] };
  /** For an image stored in the Docker engine: its name and ID then. */
  image?: { name: string; id: string };
}

/** `$XDG_CACHE_HOME/hln/ledger`, else `~/.cache/hln/ledger` (a relative XDG_CACHE_HOME is ignored, as the spec says). */
export function defaultLedgerDirectory(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".cache");
  return join(base, "hln", "ledger");
}

export interface LedgerStore {
  readonly directory: string;
  get(key: string, signal?: AbortSignal): Promise<LedgerEntry | undefined>;
  put(entry: LedgerEntry, signal?: AbortSignal): Promise<void>;
  /** Removes the oldest entries beyond `limit` (default 2000). */
  prune(limit?: number): Promise<void>;
}

const keyPattern = /^[0-9a-f]{64}$/;

export function createLedgerStore(directory: string): LedgerStore {
  let made: Promise<unknown> | undefined;
  const pathOf = (key: string) => {
    if (!keyPattern.test(key)) throw new Error(`ledger key ${JSON.stringify(key)} is not a sha256`);
    return join(directory, key);
  };
  return {
    directory,
    async get(key, signal) {
      try {
        const text = await readFile(pathOf(key), { encoding: "utf8", signal });
        const entry = JSON.parse(text) as LedgerEntry;
        if (!isEntry(entry) || entry.key !== key || entry.format !== ledgerFormat) {
          debug("entry %s is not a ledger entry of this format: a miss", key);
          return undefined;
        }
        return entry;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT")
          debug("entry %s unreadable (%s): a miss", key, (err as Error).message);
        return undefined;
      }
    },
    async put(entry, signal) {
      made ??= makeDirectories(directory, 0o700).then(() => chmod(directory, 0o700));
      await made;
      await replaceFile(pathOf(entry.key), JSON.stringify(entry), { signal, mode: 0o600 });
    },
    async prune(limit = 2000) {
      let names: string[];
      try {
        names = (await readdir(directory)).filter((n) => keyPattern.test(n));
      } catch {
        return;
      }
      if (names.length <= limit) return;
      const dated = await Promise.all(
        names.map(async (n) => ({
          n,
          t: await stat(join(directory, n)).then(
            (s) => s.mtimeMs,
            () => 0,
          ),
        })),
      );
      dated.sort((a, b) => a.t - b.t);
      for (const { n } of dated.slice(0, dated.length - limit))
        await unlink(join(directory, n)).catch(() => {});
    },
  };
}

function isEntry(e: unknown): e is LedgerEntry {
  if (e === null || typeof e !== "object") return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x.key === "string" &&
    typeof x.kind === "string" &&
    typeof x.recordedAt === "number" &&
    Array.isArray(x.racy) &&
    x.racy.every(isRacy) &&
    (x.answer === undefined || typeof x.answer === "string") &&
    (x.response === undefined || isStringRecord(x.response)) &&
    (x.destination === undefined || isDestination(x.destination)) &&
    (x.image === undefined || isImage(x.image))
  );
}

function isRacy(r: unknown): r is RacyFile {
  return (
    r !== null &&
    typeof r === "object" &&
    typeof (r as RacyFile).path === "string" &&
    typeof (r as RacyFile).digest === "string"
  );
}

function isStringRecord(r: unknown): r is Record<string, string> {
  return (
    r !== null && typeof r === "object" && Object.values(r).every((v) => typeof v === "string")
  );
}

function isDestination(d: unknown): boolean {
  if (d === null || typeof d !== "object") return false;
  const x = d as Record<string, unknown>;
  return (
    typeof x.path === "string" &&
    typeof x.digest === "string" &&
    Array.isArray(x.racy) &&
    x.racy.every(isRacy)
  );
}

function isImage(i: unknown): boolean {
  if (i === null || typeof i !== "object") return false;
  const x = i as Record<string, unknown>;
  return typeof x.name === "string" && typeof x.id === "string";
}
