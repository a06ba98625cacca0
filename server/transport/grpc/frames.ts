import { gunzip } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { LarderError } from "../../core/errors.js";
import { describeBytes } from "../../core/limits.js";

/** The 5-byte prefix of every gRPC message: a compressed flag and a big-endian length. */
const prefixBytes = 5;

/** The room an encoder leaves before a message for {@link frameOf}. */
export const frameHeadroom = prefixBytes;

/**
 * Writes the frame prefix into the first {@link frameHeadroom} bytes of
 * `framed`, which the encoder left free, so the message is never copied.
 * Uncompressed: Larder answers uncompressed whatever the request used,
 * which every gRPC client accepts.
 */
export function frameOf(framed: Buffer): Buffer {
  framed[0] = 0;
  framed.writeUInt32BE(framed.length - prefixBytes, 1);
  return framed;
}

/** A gRPC protocol violation: INTERNAL, as the gRPC spec and connect-node answer it. */
function protocolError(problem: string): ConnectError {
  return new ConnectError(`protocol error: ${problem}`, Code.Internal);
}

/** The limit error for a request message over `maxBytes`. */
function tooLarge(bytes: number | undefined, maxBytes: number): LarderError {
  const size = bytes === undefined ? "more than" : `${bytes} bytes, over`;
  return new LarderError("resourceExhausted", `request message: ${size} the limit of ${describeBytes(maxBytes)}`);
}

/** The largest request body that can hold one message of `maxBytes`: one frame. */
export function maxBodyBytes(maxBytes: number): number {
  return maxBytes + prefixBytes;
}

/** RESOURCE_EXHAUSTED for a body past {@link maxBodyBytes}, refused without being kept. */
export function bodyTooLarge(maxBytes: number): LarderError {
  return tooLarge(undefined, maxBytes);
}

/**
 * The message of a unary request body: exactly one frame, decompressed with
 * `encoding` when its flag says so. Throws for a malformed frame; only a
 * compressed one answers with a promise, so the common call waits for nothing.
 * @param encoding the request's `grpc-encoding` ("gzip" or "identity"/undefined).
 */
export function readUnaryMessage(body: Buffer, encoding: string | undefined, maxBytes: number): Uint8Array | Promise<Uint8Array> {
  if (body.length < prefixBytes) {
    throw protocolError(body.length === 0 ? "missing request message" : "incomplete message prefix");
  }
  const flags = body[0] ?? 0;
  const length = body.readUInt32BE(1);
  if (length > maxBytes) throw tooLarge(length, maxBytes);
  if (body.length !== prefixBytes + length) {
    throw protocolError(
      body.length < prefixBytes + length
        ? `promised ${length} bytes in the request message, got ${body.length - prefixBytes}`
        : "a unary call takes exactly one request message",
    );
  }
  if ((flags & 0xfe) !== 0) throw protocolError(`unknown message flags 0x${flags.toString(16)}`);
  const data = body.subarray(prefixBytes);
  if (flags === 0) return data;
  if (encoding !== "gzip") throw protocolError("compressed message without a grpc-encoding");
  return inflate(data, maxBytes);
}

function inflate(data: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // One byte over the limit is enough to know it is too large, and the
    // bound stops a small gzip bomb from expanding in memory.
    gunzip(data, { maxOutputLength: maxBytes + 1 }, (err, out) => {
      if (err !== null) {
        reject((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" ? tooLarge(undefined, maxBytes) : protocolError("invalid gzip data"));
      } else if (out.length > maxBytes) {
        reject(tooLarge(out.length, maxBytes));
      } else {
        resolve(out);
      }
    });
  });
}

const timeoutUnitsMs: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The `grpc-timeout` header in milliseconds ("100m", "5S", ...); undefined
 * when absent. A malformed one is INVALID_ARGUMENT with connect-node's words,
 * so that the fast path answers it as every other path does (INTERNAL is
 * for a message that cannot be read, not for a bad header).
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  const unit = match?.[2] === undefined ? undefined : timeoutUnitsMs[match[2]];
  if (match?.[1] === undefined || unit === undefined) {
    throw new ConnectError(`protocol error: invalid grpc timeout value: ${String(value)}`, Code.InvalidArgument);
  }
  return Number(match[1]) * unit;
}
