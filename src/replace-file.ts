/**
 * Replaces a file whole: readers see the old contents or the new, never half, and a crash
 * leaves no torn file (temporary sibling, fsync, rename).
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { throwIfAborted } from "./errors.js";

export async function replaceFile(
  path: string,
  data: string | Uint8Array,
  options: { signal?: AbortSignal; mode?: number } = {},
): Promise<void> {
  const temp = `${path}.hln-${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temp, "wx", options.mode);
    try {
      await handle.writeFile(data, { signal: options.signal });
      await handle.sync();
    } finally {
      await handle.close();
    }
    throwIfAborted(options.signal);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
