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
  // TLS, as OpenSSL and Node name the failures; the raw messages span lines of internals.
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    "TLS: the server requires a client certificate (BUILDKIT_TLS_CERT and BUILDKIT_TLS_KEY, or --tlsdir)",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "TLS: the server rejected the client certificate",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "TLS: the server does not trust the client certificate's CA",
  ERR_SSL_WRONG_VERSION_NUMBER:
    "TLS: the server does not speak TLS (plain h2c? drop the TLS settings)",
  SELF_SIGNED_CERT_IN_CHAIN:
    "TLS: the server's certificate is not signed by a trusted CA (set BUILDKIT_TLS_CA or --tlscacert)",
  DEPTH_ZERO_SELF_SIGNED_CERT:
    "TLS: the server's certificate is self-signed and not trusted (set BUILDKIT_TLS_CA or --tlscacert)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "TLS: the server's certificate is not signed by a trusted CA (set BUILDKIT_TLS_CA or --tlscacert)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    "TLS: the server's certificate is not signed by a trusted CA (set BUILDKIT_TLS_CA or --tlscacert)",
  CERT_HAS_EXPIRED: "TLS: the server's certificate has expired",
};

/** A short reason for a Node system error, e.g. "connection refused". */
export function describeNodeError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && reasons[code]) return reasons[code];
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `TLS: ${(err as Error).message} (set BUILDKIT_TLS_SERVERNAME or --tlsservername to the name in the certificate)`;
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
