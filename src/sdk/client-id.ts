import { createHash } from "node:crypto";
import { hostname, userInfo } from "node:os";

let id: string | undefined;

/**
 * A stable ID for this user on this machine. BuildKit keys what it has received of a host
 * directory by it (the session's shared key), so reruns send only changes; it also keeps
 * local sources' digests stable across runs (`local.unique`).
 */
export function clientId(): string {
  id ??= createHash("sha256")
    .update(`hln:${hostname()}:${userInfo().uid}`)
    .digest("hex")
    .slice(0, 24);
  return id;
}
