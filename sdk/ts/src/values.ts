import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { invalidArgument, LarderError } from "./errors.js";
import type { EntryMetadata, Value } from "../gen/larder/v1/value_pb.js";

/**
 * Conversions between what callers hold (JavaScript values, TTLs in seconds)
 * and what travels on the wire (Value messages, TTLs in milliseconds).
 */

/** A stored entry with its metadata, as returned by `getEntry`. */
export interface CacheEntry<T> {
  /** The value, decoded as `get` would return it. */
  value: T;
  /** Rises on every write; pass it to `set(..., { ifVersion })` for compare-and-set. */
  version: number;
  /** When the key was first written (since it last did not exist). */
  createdAt: Date;
  /** When the entry was last written. */
  updatedAt: Date;
  /** When the entry expires; `null` when it never does. */
  expiresAt: Date | null;
  /** When the entry was last read; `null` if never read. */
  lastReadAt: Date | null;
}

/** A Value message's content, as the SDK builds it: always one of the two kinds. */
export interface EncodedValue {
  kind: { case: "json"; value: string } | { case: "binary"; value: Uint8Array };
}

/**
 * Encodes a value for the wire. A `Uint8Array` (including a Node `Buffer`)
 * travels as opaque binary; anything else as JSON text, which other-language
 * SDKs and humans at `redis-cli` can read.
 *
 * @param field the argument name for error messages.
 * @param value the caller's value.
 */
export function encodeValue(field: string, value: unknown): EncodedValue {
  if (value instanceof Uint8Array) {
    return { kind: { case: "binary", value } };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    // BigInt and circular structures end up here.
    throw new LarderError(Code.InvalidArgument, `${field}: cannot be serialized as JSON: ${String(err)}`, {
      cause: err,
    });
  }
  // JSON.stringify returns undefined (not a string) for undefined, functions
  // and symbols; storing "undefined" would be unreadable everywhere else.
  if (json === undefined) {
    throw invalidArgument(field, `${typeof value} cannot be stored as JSON; use null to store "nothing"`);
  }
  return { kind: { case: "json", value: json } };
}

/**
 * Decodes a value from the wire.
 *
 * @param value the Value message.
 */
export function decodeValue<T>(value: Pick<Value, "kind"> | EncodedValue | undefined): T {
  const kind = value?.kind;
  switch (kind?.case) {
    case "binary":
      return kind.value as T;
    case "json":
      try {
        return JSON.parse(kind.value) as T;
      } catch (err) {
        // The server validates JSON on write, so this means a foreign writer
        // bypassed it; say so instead of surfacing a bare SyntaxError.
        throw new LarderError(Code.DataLoss, `value: stored JSON is not valid: ${String(err)}`, { cause: err });
      }
    default:
      // A found entry always has a value; an empty one can only come from a
      // server that does not follow the protocol.
      throw new LarderError(Code.Internal, "value: the server returned an entry without a value");
  }
}

/**
 * Converts an entry's wire form into a {@link CacheEntry}.
 *
 * @param value the Value message.
 * @param meta the EntryMetadata message.
 */
export function decodeEntry<T>(value: Value | undefined, meta: EntryMetadata | undefined): CacheEntry<T> {
  return {
    value: decodeValue<T>(value),
    version: Number(meta?.version ?? 0n),
    createdAt: dateOf(meta?.createdAt) ?? new Date(0),
    updatedAt: dateOf(meta?.updatedAt) ?? new Date(0),
    expiresAt: dateOf(meta?.expiresAt),
    lastReadAt: dateOf(meta?.lastReadAt),
  };
}

/**
 * A Timestamp as a Date, or null when unset.
 *
 * @param ts the timestamp.
 */
export function dateOf(ts: Timestamp | undefined): Date | null {
  return ts === undefined ? null : timestampDate(ts);
}

/**
 * Converts a TTL in seconds (possibly fractional) to whole milliseconds.
 *
 * Checked locally because a NaN or Infinity cannot even be encoded as int64,
 * and a positive TTL below half a millisecond must not round down to 0,
 * which the server would reject although the caller asked for "very short".
 *
 * @param field the argument name for error messages.
 * @param seconds the TTL in seconds.
 */
export function secondsToMs(field: string, seconds: number): bigint {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) {
    throw invalidArgument(field, `must be a positive number of seconds, got ${String(seconds)}`);
  }
  return BigInt(Math.max(1, Math.round(seconds * 1000)));
}

/**
 * The expiry oneof shared by SetRequest, SetManyEntry and IncrementRequest.
 * Unset means the namespace's default TTL (3600 s unless configured).
 *
 * @param field the argument name for error messages.
 * @param ttl the TTL in seconds, if any.
 * @param noExpiry whether the caller asked for an entry that never expires.
 */
export function expiryOf(
  field: string,
  ttl: number | undefined,
  noExpiry: boolean | undefined,
):
  | { case: "ttlMs"; value: bigint }
  | { case: "noExpiry"; value: true }
  | { case: undefined; value?: undefined } {
  if (noExpiry === true) {
    if (ttl !== undefined) throw invalidArgument(field, "give either ttl or noExpiry, not both");
    return { case: "noExpiry", value: true };
  }
  if (ttl === undefined) return { case: undefined };
  return { case: "ttlMs", value: secondsToMs(field, ttl) };
}
