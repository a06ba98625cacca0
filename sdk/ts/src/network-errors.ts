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

const unavailable = new Set([...socketCodes, ...http2Codes]);

/** The Connect code of a Node network error: UNAVAILABLE for the ones above, INTERNAL otherwise. */
export function networkErrorCode(err: unknown): Code {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && unavailable.has(code) ? Code.Unavailable : Code.Internal;
}
