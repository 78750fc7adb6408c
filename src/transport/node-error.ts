/**
 * Node's socket errors, translated once into what a user can act on. Every dialer
 * reports failures through here so messages name the endpoint and the root cause.
 */
import { HlnError, type Remedy } from "../errors.js";

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
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "TLS: the server requires a client certificate",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "TLS: the server rejected the client certificate",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "TLS: the server does not trust the client certificate's CA",
  ERR_SSL_WRONG_VERSION_NUMBER:
    "TLS: the server does not speak TLS (plain h2c? drop the TLS settings)",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS: the server's certificate is not signed by a trusted CA",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS: the server's certificate is self-signed and not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS: the server's certificate is not signed by a trusted CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "TLS: the server's certificate is not signed by a trusted CA",
  CERT_HAS_EXPIRED: "TLS: the server's certificate has expired",
};

const untrusted: Remedy = { settings: ["tlsCa"] };

/** The TLS setting that fixes a failure, by Node's code; the CLI names it as the user gave it. */
const remedies: Record<string, Remedy> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: { settings: ["tlsClientCert", "tlsDir"] },
  SELF_SIGNED_CERT_IN_CHAIN: untrusted,
  DEPTH_ZERO_SELF_SIGNED_CERT: untrusted,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: untrusted,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: untrusted,
  ERR_TLS_CERT_ALTNAME_INVALID: { settings: ["tlsServerName"] },
};

/** The setting that fixes a Node system error, when one does (a TLS failure). */
export function nodeErrorRemedy(err: unknown): Remedy | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? remedies[code] : undefined;
}

/** A short reason for a Node system error, e.g. "connection refused". */
export function describeNodeError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && reasons[code]) return reasons[code];
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `TLS: ${(err as Error).message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Wraps a failure to reach `endpoint` into an E_ENGINE_UNREACHABLE HlnError. */
export function unreachable(endpoint: string, err: unknown, hint?: string): HlnError {
  if (err instanceof HlnError) return err;
  return new HlnError(
    "E_ENGINE_UNREACHABLE",
    `cannot reach ${endpoint}: ${describeNodeError(err)}`,
    { cause: err, hint, remedy: nodeErrorRemedy(err) },
  );
}
