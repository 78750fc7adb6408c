/**
 * One writer per app: a lock file made with O_EXCL that names its owner. It is released on
 * every exit of the process and taken over, with a message, when its owner is gone, so a
 * killed `hln up` never leaves an app locked for good (Kamal's stuck lock, basecamp/kamal#656).
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HlnError, isAbortError, throwIfAborted } from "../errors.js";
import { fileReason } from "../file-reason.js";

export interface LockOwner {
  pid: number;
  host: string;
  user: string;
  command: string;
  /** ISO time */
  since: string;
  /** process start time from /proc/PID/stat, to tell a reused pid apart */
  startTicks?: number;
}

export interface LockOptions {
  /** what the owner is doing, e.g. "hln up shop" */
  command: string;
  signal?: AbortSignal;
  /**
   * How long to wait for a live owner; 0 (default) fails at once with E_LOCKED naming the
   * owner, Infinity waits until it is gone or `signal` aborts. While waiting, `onWait` is
   * told once.
   */
  waitMs?: number;
  onWait?: (message: string) => void;
  /** told when a lock whose owner is gone (dead pid, or same pid but another start time) is taken over */
  onTakeover?: (message: string) => void;
}

export interface AppLock {
  readonly owner: LockOwner;
  /** synchronous, idempotent: safe from process 'exit' handlers; removes the lock file only if it is still ours */
  release(): void;
}

/**
 * A lock file whose contents cannot be read as an owner is one a process made and died
 * before writing (or is writing right now). Past this age it counts as left behind.
 */
const unfinishedStaleMs = 10_000;
/**
 * How long even a caller that will not wait gives a lock file that is being written, the
 * few microseconds between its creation and its contents, to become readable.
 */
const unfinishedGraceMs = 2_000;
/** How often a waiting process looks at the lock again. */
const pollMs = 200;
/** A takeover is a few system calls; a marker older than this was left by a crash. */
const takeoverStaleMs = 10_000;

/** What is in the lock file: the owner, and a token that no other lock file ever had. */
interface LockFile extends LockOwner {
  token: string;
}

/** Who holds a lock file, as read at one moment. */
export type Holder =
  | { kind: "gone" }
  | { kind: "owner"; owner: LockOwner; token: string; raw: string }
  | { kind: "unfinished"; raw: string; ageMs: number };

/** This process's start time in clock ticks since boot (field 22 of /proc/PID/stat), if Linux says. */
export function processStartTicks(pid: number): number | undefined {
  const stat = procStat(pid);
  return stat?.startTicks;
}

function procStat(pid: number): { state: string; startTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) sits in parentheses and may itself hold spaces and ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const startTicks = Number(fields[19]);
  const state = fields[0] ?? "";
  return Number.isSafeInteger(startTicks) ? { state, startTicks } : undefined;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A container's uid may have no passwd entry.
    return process.env.USER ?? String(process.getuid?.() ?? "?");
  }
}

/** Whether the owner, on this host, still runs: its pid is alive, not a zombie, and started when it said. */
function ownerRuns(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: the pid exists but belongs to another user, so it runs.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = procStat(owner.pid);
  if (stat === undefined) return true;
  // A zombie has exited; only its parent has not looked yet.
  if (stat.state === "Z") return false;
  return owner.startTicks === undefined || owner.startTicks === stat.startTicks;
}

export function readHolder(path: string): Holder {
  let raw: string;
  let mtimeMs: number;
  try {
    raw = readFileSync(path, "utf8");
    mtimeMs = statSync(path).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "gone" };
    throw new HlnError("E_USAGE", `cannot read the lock file ${path}: ${fileReason(err)}`, {
      cause: err,
    });
  }
  const parsed = parseLockFile(raw);
  if (parsed === undefined) return { kind: "unfinished", raw, ageMs: Date.now() - mtimeMs };
  const { token, ...owner } = parsed;
  return { kind: "owner", owner, token, raw };
}

function parseLockFile(raw: string): LockFile | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(o.pid) &&
    (o.pid as number) > 0 &&
    typeof o.host === "string" &&
    typeof o.user === "string" &&
    typeof o.command === "string" &&
    typeof o.since === "string" &&
    typeof o.token === "string" &&
    (o.startTicks === undefined || Number.isSafeInteger(o.startTicks));
  if (!ok) return undefined;
  const owner: LockFile = {
    pid: o.pid as number,
    host: o.host as string,
    user: o.user as string,
    command: o.command as string,
    since: o.since as string,
    token: o.token as string,
  };
  if (o.startTicks !== undefined) owner.startTicks = o.startTicks as number;
  return owner;
}

/** "12:01:02" today, "2026-11-30 12:01:02" on another day; local time, as the user's clock shows. */
function shownTime(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  const day = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  const now = new Date();
  const today = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  return day === today ? time : `${day} ${time}`;
}

function lockedMessage(app: string, holder: Holder, path: string): string {
  if (holder.kind === "owner") {
    const o = holder.owner;
    const who = `app ${app} is locked by pid ${o.pid} (${o.command}) on ${o.host} since ${shownTime(o.since)}`;
    if (o.host !== hostname()) {
      return `${who}; that is another machine, so hln cannot tell whether it still runs: wait for it, or if it is gone remove ${path}`;
    }
    return `${who}; wait for it or stop it`;
  }
  return `app ${app} is being locked by another hln (its lock file ${path} is still being written); try again`;
}

/**
 * Takes the lock at `path` (an app's `APP.lock`), waiting up to `waitMs` for a live owner
 * and taking over from one that is gone. The lock is released by `release()` or, failing
 * that, when the process exits in any way that runs 'exit' handlers.
 */
export async function acquireLock(path: string, options: LockOptions): Promise<AppLock> {
  const app = basename(path, ".lock");
  const waitMs = options.waitMs ?? 0;
  const started = Date.now();
  const deadline = started + waitMs;
  let told = false;
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    user: currentUser(),
    command: options.command,
    since: new Date().toISOString(),
  };
  const startTicks = processStartTicks(process.pid);
  if (startTicks !== undefined) owner.startTicks = startTicks;
  const token = randomBytes(12).toString("hex");

  // Told only once the lock is ours: another process may take the freed lock first.
  let tookOver: string | undefined;
  for (;;) {
    throwIfAborted(options.signal);
    if (tryCreate(path, { ...owner, token })) {
      const lock = held(path, owner, token);
      if (tookOver !== undefined) options.onTakeover?.(tookOver);
      return lock;
    }

    const holder = readHolder(path);
    if (holder.kind === "gone") continue;
    const stale =
      holder.kind === "unfinished"
        ? holder.ageMs > unfinishedStaleMs
        : holder.owner.host === hostname() && !ownerRuns(holder.owner);
    if (stale) {
      if (takeOver(path, holder)) {
        tookOver = takeoverMessage(app, holder);
      } else {
        // Another process is taking over this very lock; see what it leaves.
        await pause(20, options.signal);
      }
      continue;
    }

    tookOver = undefined;
    const message = lockedMessage(app, holder, path);
    const giveUp =
      holder.kind === "unfinished" ? Math.max(deadline, started + unfinishedGraceMs) : deadline;
    if (Date.now() >= giveUp) throw new HlnError("E_LOCKED", message);
    if (!told && waitMs > 0) {
      told = true;
      const how = Number.isFinite(waitMs)
        ? `waiting up to ${Math.ceil(waitMs / 1000)} s`
        : "waiting for it to finish";
      // A holder on another machine may be gone for good: an endless wait says what ends it.
      const elsewhere =
        holder.kind === "owner" && holder.owner.host !== hostname()
          ? `; it runs on another machine, so if it is gone remove ${path}`
          : "";
      options.onWait?.(`${message.slice(0, message.indexOf(";"))}; ${how}${elsewhere}`);
    }
    await pause(Math.min(pollMs, Math.max(1, giveUp - Date.now())), options.signal);
  }
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (isAbortError(err)) throw new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason });
    throw err;
  }
}

function takeoverMessage(app: string, holder: Holder): string {
  if (holder.kind === "owner") {
    const o = holder.owner;
    return `took over the lock of app ${app} left by pid ${o.pid} (${o.command}), which is no longer running`;
  }
  const age = holder.kind === "unfinished" ? Math.round(holder.ageMs / 1000) : 0;
  return `took over the lock of app ${app}, whose lock file was left unfinished ${age} s ago`;
}

/** Creates the lock file with O_EXCL; false when one exists. Synchronous, so no other task runs between create and write. */
function tryCreate(path: string, contents: LockFile): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new HlnError("E_USAGE", `cannot create the lock file ${path}: ${fileReason(err)}`, {
      cause: err,
    });
  }
  try {
    writeSync(fd, `${JSON.stringify(contents)}\n`);
  } catch (err) {
    // An empty lock file would hold the app for ten seconds for nothing (a full disk, say).
    closeSync(fd);
    unlinkQuietly(path);
    throw new HlnError("E_USAGE", `cannot write the lock file ${path}: ${fileReason(err)}`, {
      cause: err,
    });
  }
  closeSync(fd);
  return true;
}

/**
 * Removes a lock file judged stale, so that only one of the processes that judged it so
 * removes it. Each stale lock file has its own marker, named after its contents (its token,
 * or its bytes when unfinished), made with O_EXCL: only its maker may remove the lock, and
 * only after reading it again and finding the same contents. A second process that read the
 * same stale file cannot make the marker while it exists, and once it is gone the lock file
 * has changed, so it never removes a lock another process has just taken.
 */
export function takeOver(path: string, stale: Holder): boolean {
  if (stale.kind === "gone") return false;
  const generation = generationOf(path, stale);
  const marker = takeoverMarker(path, stale);
  let fd: number;
  try {
    fd = openSync(marker, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new HlnError("E_USAGE", `cannot take over the lock file ${path}: ${fileReason(err)}`, {
        cause: err,
      });
    }
    clearAbandonedMarker(marker);
    return false;
  }
  closeSync(fd);
  try {
    const now = readHolder(path);
    const same =
      (now.kind === "owner" && ownedGeneration(now.token) === generation) ||
      // A young unfinished file is a new lock being written, whatever its bytes and inode.
      (now.kind === "unfinished" &&
        now.ageMs > unfinishedStaleMs &&
        unfinishedGeneration(now.raw, statIno(path)) === generation);
    if (!same) return false;
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new HlnError(
          "E_USAGE",
          `cannot remove the stale lock file ${path}: ${fileReason(err)}`,
          {
            cause: err,
          },
        );
      }
    }
    return true;
  } finally {
    unlinkQuietly(marker);
  }
}

function generationOf(path: string, stale: Holder & { kind: "owner" | "unfinished" }): string {
  return stale.kind === "owner"
    ? ownedGeneration(stale.token)
    : unfinishedGeneration(stale.raw, statIno(path));
}

/** The marker a process makes while it takes over the stale lock file it read. */
export function takeoverMarker(
  path: string,
  stale: Holder & { kind: "owner" | "unfinished" },
): string {
  return `${path}.takeover-${generationOf(path, stale)}`;
}

/** A marker left by a process that died mid-takeover would block every later takeover of that lock. */
function clearAbandonedMarker(marker: string): void {
  try {
    if (Date.now() - statSync(marker).mtimeMs > takeoverStaleMs) unlinkQuietly(marker);
  } catch {
    // Gone already: its maker finished.
  }
}

function statIno(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return 0;
  }
}

/** A name for a lock file from its token, hashed since the file may have been edited into anything. */
function ownedGeneration(token: string): string {
  return `t${createHash("sha256").update(token).digest("hex").slice(0, 24)}`;
}

/** A name for an unfinished lock file, which has no token: its inode and bytes. */
function unfinishedGeneration(raw: string, ino: number): string {
  return `u${ino}-${createHash("sha256").update(raw).digest("hex").slice(0, 16)}`;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function held(path: string, owner: LockOwner, token: string): AppLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off("exit", release);
    let now: Holder;
    try {
      now = readHolder(path);
    } catch {
      // Unreadable now: leave it; this may run in an 'exit' handler, where throwing helps no one.
      return;
    }
    // Taken over while we ran (we were judged gone): the file is someone else's now.
    if (now.kind === "owner" && now.token === token) unlinkQuietly(path);
  };
  process.on("exit", release);
  return { owner, release };
}
