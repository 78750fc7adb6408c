/**
 * BuildKit leaves secret values out of cache keys, so a step that read an old value is
 * reused after the value changed, and what it printed (the old value, which this run's
 * redactor never learned) is replayed. A secret whose value is known when it is made gets
 * a keyed fingerprint of that value in its wire ID instead: a new value is a new step, and
 * the ID says nothing about the value to anyone without the key, which stays on this machine.
 */
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { makeDirectoriesSync } from "../make-directories.js";

let cached: { path: string; key: Buffer } | undefined;

/** Where the key lives: `$XDG_STATE_HOME/hln/secret-key`, else `~/.local/state/hln/secret-key`. */
export function fingerprintKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(state, "hln", "secret-key");
}

/**
 * This user's fingerprint key, made once (32 random bytes, readable by the owner only).
 * Where it cannot be kept, a key for this process alone still keeps values apart; steps
 * that read secrets then just run again next time.
 */
export function fingerprintKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const path = fingerprintKeyPath(env);
  if (cached?.path === path) return cached.key;
  let key: Buffer;
  try {
    key = readFileSync(path);
    if (key.length < 32) throw new Error("short key");
  } catch {
    key = randomBytes(32);
    try {
      makeDirectoriesSync(join(path, ".."), 0o700);
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, key, { mode: 0o600, flag: "wx" });
      // Two first runs at once: the last rename wins, and both go on with a key that
      // keeps their own values apart.
      renameSync(temp, path);
    } catch {
      // A read-only home: the per-process key above.
    }
  }
  cached = { path, key };
  return key;
}

/** A short keyed fingerprint of `value`: 16 hex digits of HMAC-SHA256. */
export function fingerprint(value: Uint8Array, key: Buffer): string {
  return createHmac("sha256", key).update(value).digest("hex").slice(0, 16);
}
