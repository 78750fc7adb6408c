/**
 * Node's socket errors, translated once into what a user can act on. Every dialer
 * reports failures through here so messages name the endpoint and the root cause.
 */
import { HlnError } from "../errors.js";

const reasons: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOENT: "no such socket",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "name lookup failed",
  ENOTSOCK: "not a socket",
};

/** A short reason for a Node system error, e.g. "connection refused". */
export function describeNodeError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && reasons[code]) return reasons[code];
  return err instanceof Error ? err.message : String(err);
}

/** Wraps a failure to reach `endpoint` into an E_ENGINE_UNREACHABLE HlnError. */
export function unreachable(endpoint: string, err: unknown, hint?: string): HlnError {
  if (err instanceof HlnError) return err;
  return new HlnError(
    "E_ENGINE_UNREACHABLE",
    `cannot reach ${endpoint}: ${describeNodeError(err)}`,
    {
      cause: err,
      hint,
    },
  );
}
