import { Code } from "@connectrpc/connect";

/**
 * Node error codes that mean the server could not be reached or dropped the
 * connection: UNAVAILABLE, which the SDK retries for idempotent calls.
 * A reset is among them: on a kept-alive connection it is mostly a socket
 * the server closed as it was being reused.
 */
const socketCodes = [
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
];

/** The same for an HTTP/2 session that failed or went away. */
const http2Codes = [
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_STREAM_CANCEL",
  "ERR_HTTP2_ERROR",
];

/**
 * Certificate checks that failed (openssl's verify codes, as node:tls
 * reports them). With the `ERR_SSL_`/`ERR_TLS_` codes below, a failed TLS
 * handshake is UNAVAILABLE, as in grpc-js, grpc-go and gRPC's C core: the
 * server could not be reached securely.
 */
const certificateCodes = [
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
];

const unavailable = new Set([...socketCodes, ...http2Codes, ...certificateCodes]);

/** The Connect code of a Node network error: UNAVAILABLE for the ones above and TLS failures, INTERNAL otherwise. */
export function networkErrorCode(err: unknown): Code {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return Code.Internal;
  return unavailable.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") ? Code.Unavailable : Code.Internal;
}
