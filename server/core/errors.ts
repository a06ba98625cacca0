import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What went wrong, in Larder's own words. The service and the stores throw
 * {@link LarderError} with one of these; only {@link toConnectError} turns it
 * into a wire status, so the logic never depends on a transport.
 */
export type ErrorKind =
  | "invalidArgument"
  | "limitExceeded"
  | "failedPrecondition"
  | "outOfRange"
  | "notFound"
  | "unauthenticated"
  | "permissionDenied"
  | "unavailable"
  | "unimplemented"
  | "resourceExhausted"
  | "deadlineExceeded";

/**
 * The gRPC code of each kind, and why.
 */
const codeOf: Record<ErrorKind, Code> = {
  // The request itself is malformed (bad key, bad TTL, bad JSON): retrying
  // the same request can never succeed, so the caller must change it.
  invalidArgument: Code.InvalidArgument,
  // A configured limit on a request field (key size, value size, batch size,
  // page size, TTL). It is still the request that must change, so this is
  // INVALID_ARGUMENT rather than RESOURCE_EXHAUSTED, which clients may retry.
  limitExceeded: Code.InvalidArgument,
  // The request is well formed but the stored state forbids it, e.g.
  // Increment on a value that is not an integer.
  failedPrecondition: Code.FailedPrecondition,
  // An arithmetic result outside int64, e.g. Increment overflow.
  outOfRange: Code.OutOfRange,
  // Something named by the caller does not exist (an undefined command).
  // A cache miss is never this: it is a normal answer.
  notFound: Code.NotFound,
  // No credentials, or unknown credentials.
  unauthenticated: Code.Unauthenticated,
  // Known credentials without the permission this RPC needs.
  permissionDenied: Code.PermissionDenied,
  // The backend cannot be reached. UNAVAILABLE is the one code that clients
  // treat as safe to retry with backoff.
  unavailable: Code.Unavailable,
  // An RPC of the stable API whose feature is not built yet.
  unimplemented: Code.Unimplemented,
  // Something outside the request ran out, e.g. an upstream response larger
  // than the configured RunCommand limit.
  resourceExhausted: Code.ResourceExhausted,
  // The caller's deadline passed while the server was waiting.
  deadlineExceeded: Code.DeadlineExceeded,
};

/**
 * An error with a stable kind and a message that is safe to show to the
 * caller: it names the field and, for limits, the limit.
 */
export class LarderError extends Error {
  override readonly name = "LarderError";

  /**
   * @param kind what went wrong; decides the gRPC code.
   * @param message shown to the caller as is; never include values or secrets.
   */
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Shorthand for an `invalidArgument` error about one request field. */
export function invalidArgument(field: string, problem: string): LarderError {
  return new LarderError("invalidArgument", `${field}: ${problem}`);
}

/** Shorthand for a `limitExceeded` error that names the field and the limit. */
export function limitExceeded(field: string, problem: string): LarderError {
  return new LarderError("limitExceeded", `${field}: ${problem}`);
}

/**
 * Turns anything thrown while serving a call into a ConnectError that is safe
 * to send: Larder's own errors keep their message, ConnectErrors pass through,
 * and anything else becomes INTERNAL with a generic message, so that no stack
 * trace or internal detail ever reaches a client.
 *
 * @param err what was thrown.
 * @param requestId included in the INTERNAL message so operators can find
 *   the logged cause.
 */
export function toConnectError(err: unknown, requestId?: string): ConnectError {
  if (err instanceof LarderError) {
    return new ConnectError(err.message, codeOf[err.kind]);
  }
  if (err instanceof ConnectError) {
    return err;
  }
  const ref = requestId === undefined ? "" : ` (request ${requestId})`;
  return new ConnectError(`internal error${ref}`, Code.Internal);
}

/** Whether an error is one that the server produced on purpose. */
export function isExpectedError(err: unknown): boolean {
  return err instanceof LarderError || err instanceof ConnectError;
}
