import { Code, ConnectError } from "@connectrpc/connect";

// Re-exported so that callers can compare `err.code` without adding
// @connectrpc/connect to their own dependencies.
export { Code } from "@connectrpc/connect";

/**
 * Every failure the SDK reports, whether the server refused the call or the
 * SDK refused it before sending (for example a value JSON cannot represent).
 *
 * A cache miss is never an error: reads resolve to `null` instead.
 */
export class LarderError extends Error {
  /** The gRPC/Connect status code, e.g. `Code.InvalidArgument` (3). */
  readonly code: Code;

  /**
   * The code's canonical gRPC name, e.g. `"INVALID_ARGUMENT"`, the spelling
   * used by grpcurl, server logs and the other Larder SDKs.
   */
  readonly codeName: string;

  /**
   * @param code the status code.
   * @param message what went wrong; for server errors, the server's own
   *   message, which names the offending field and limit.
   * @param options the underlying error, if any.
   */
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LarderError";
    this.code = code;
    this.codeName = codeName(code);
  }
}

/**
 * The canonical gRPC name of a code: `Code.InvalidArgument` → `"INVALID_ARGUMENT"`.
 *
 * @param code a status code.
 */
export function codeName(code: Code): string {
  // gRPC spells this one with two Ls; Connect's enum with one.
  if (code === Code.Canceled) return "CANCELLED";
  const name = Code[code] as string | undefined;
  if (name === undefined) return `CODE_${code}`;
  // The enum spells names in PascalCase; insert "_" before each inner capital.
  return name.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase();
}

/**
 * Converts anything thrown by the generated client into a {@link LarderError},
 * so that callers deal with one error type and never with transport details.
 *
 * @param err what was thrown.
 */
export function toLarderError(err: unknown): LarderError {
  if (err instanceof LarderError) return err;
  const ce = ConnectError.from(err);
  // rawMessage is the server's text without Connect's "[code]" prefix; the
  // prefix would be redundant next to `code` and `codeName`.
  return new LarderError(ce.code, ce.rawMessage, { cause: err });
}

/**
 * A local INVALID_ARGUMENT, worded like the server's ("field: problem") so
 * that both sources of the same mistake read alike.
 *
 * @param field the argument at fault.
 * @param problem what is wrong with it.
 */
export function invalidArgument(field: string, problem: string): LarderError {
  return new LarderError(Code.InvalidArgument, `${field}: ${problem}`);
}
