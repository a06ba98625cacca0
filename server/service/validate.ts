import type { Value } from "../gen/larder/v1/value_pb.js";
import { invalidArgument, limitExceeded, LarderError } from "../core/errors.js";
import { describeBytes, describeMs, type Limits, type NamespacePolicy } from "../core/limits.js";
import type { Expiry, LockGuard, StoredValue } from "../store/store.js";

/**
 * Request checks. Each one throws a LarderError that names the field (as it
 * is spelled in the proto) and, for limits, the limit, and each turns a wire
 * field into what a store takes.
 */

/** The expiry oneof shared by SetRequest, SetManyEntry and IncrementRequest. */
export type ExpiryField =
  | { case: "ttlMs"; value: bigint }
  | { case: "noExpiry"; value: boolean }
  | { case: undefined; value?: undefined };

/** Checks a key (or lock name) and returns it. */
export function checkKey(field: string, key: string, limits: Limits): string {
  if (key.length === 0) {
    throw invalidArgument(field, "must not be empty");
  }
  // A UTF-16 length within a third of the limit is always within it in UTF-8,
  // which spares the byte count on the common short key.
  if (key.length * 3 > limits.maxKeyBytes) {
    const bytes = Buffer.byteLength(key);
    if (bytes > limits.maxKeyBytes) {
      throw limitExceeded(field, `${bytes} bytes exceeds the limit of ${describeBytes(limits.maxKeyBytes)}`);
    }
  }
  return key;
}

/** Checks a list of keys against the batch limit and each key. */
export function checkKeys(field: string, keys: readonly string[], limits: Limits): readonly string[] {
  checkBatch(field, keys.length, limits);
  keys.forEach((key, i) => checkKey(`${field}[${i}]`, key, limits));
  return keys;
}

/** Checks a batch size: at least one, at most the batch limit. */
export function checkBatch(field: string, size: number, limits: Limits): void {
  if (size === 0) {
    throw invalidArgument(field, "must not be empty");
  }
  if (size > limits.maxBatchSize) {
    throw limitExceeded(field, `${size} items exceeds the batch limit of ${limits.maxBatchSize}`);
  }
}

/**
 * Checks a value: present, within the size limit, and, for JSON, a valid
 * JSON document, so that every SDK can read back what any client wrote.
 */
export function checkValue(field: string, value: Value | undefined, limits: Limits): StoredValue {
  const kind = value?.kind;
  if (kind === undefined || kind.case === undefined) {
    throw invalidArgument(field, "is required: set json or binary");
  }
  if (kind.case === "binary") {
    if (kind.value.byteLength > limits.maxValueBytes) {
      throw limitExceeded(
        `${field}.binary`,
        `${kind.value.byteLength} bytes exceeds the limit of ${describeBytes(limits.maxValueBytes)}`,
      );
    }
    return { kind: "binary", binary: kind.value };
  }
  const json = kind.value;
  if (json.length * 3 > limits.maxValueBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > limits.maxValueBytes) {
      throw limitExceeded(`${field}.json`, `${bytes} bytes exceeds the limit of ${describeBytes(limits.maxValueBytes)}`);
    }
  }
  try {
    JSON.parse(json);
  } catch {
    throw invalidArgument(`${field}.json`, "is not a valid JSON document (a string value needs quotes)");
  }
  return { kind: "json", json };
}

/** Resolves the expiry oneof into a store expiry, applying the policy. */
export function resolveExpiry(expiry: ExpiryField, policy: NamespacePolicy): Expiry {
  switch (expiry.case) {
    case undefined:
      return { ttlMs: policy.defaultTtlMs };
    case "ttlMs":
      return { ttlMs: checkTtl("ttl_ms", expiry.value, policy.maxTtlMs) };
    case "noExpiry":
      if (!expiry.value) {
        throw invalidArgument("no_expiry", "must be true when set; leave expiry unset for the default TTL");
      }
      if (!policy.allowNoExpiry) {
        throw new LarderError("invalidArgument", "no_expiry: the namespace policy forbids entries without expiry");
      }
      return { never: true };
  }
}

/** Checks a TTL in milliseconds: positive and at most `maxMs`. */
export function checkTtl(field: string, ms: bigint, maxMs: number): number {
  if (ms <= 0n) {
    throw invalidArgument(field, `must be positive, got ${ms}`);
  }
  if (ms > BigInt(maxMs)) {
    throw limitExceeded(field, `${ms} exceeds the maximum TTL of ${describeMs(maxMs)}`);
  }
  return Number(ms);
}

/** Checks a page limit: 0 means the default, at most the page limit. */
export function checkPageLimit(field: string, limit: number, limits: Limits): number {
  if (limit < 0) {
    throw invalidArgument(field, `must not be negative, got ${limit}`);
  }
  if (limit > limits.maxPageSize) {
    throw limitExceeded(field, `${limit} exceeds the page limit of ${limits.maxPageSize}`);
  }
  return limit === 0 ? limits.defaultPageSize : limit;
}

/** Checks a glob pattern: empty means `*`; as long as a key at most. */
export function checkPattern(field: string, pattern: string, limits: Limits): string {
  if (pattern === "") return "*";
  const bytes = Buffer.byteLength(pattern);
  if (bytes > limits.maxKeyBytes) {
    throw limitExceeded(field, `${bytes} bytes exceeds the limit of ${describeBytes(limits.maxKeyBytes)}`);
  }
  return pattern;
}

/** Checks a lock TTL in milliseconds: 0 means the configured lock duration. */
export function checkLockTtl(field: string, ms: bigint, limits: Limits): number {
  if (ms === 0n) return limits.defaultLockTtlMs;
  if (ms < 0n) {
    throw invalidArgument(field, `must not be negative, got ${ms}`);
  }
  if (ms > BigInt(limits.maxLockTtlMs)) {
    throw limitExceeded(field, `${ms} exceeds the maximum lock TTL of ${describeMs(limits.maxLockTtlMs)}`);
  }
  return Number(ms);
}

/** Checks a lock wait in milliseconds: 0 means try once, at most the maximum lock wait. */
export function checkLockWait(field: string, ms: bigint, limits: Limits): number {
  if (ms < 0n) {
    throw invalidArgument(field, `must not be negative, got ${ms}`);
  }
  if (ms > BigInt(limits.maxLockWaitMs)) {
    throw limitExceeded(field, `${ms} exceeds the maximum lock wait of ${describeMs(limits.maxLockWaitMs)}`);
  }
  return Number(ms);
}

/**
 * Checks a free-form text field stored with a lock (owner label) or compared
 * with one (owner token): as long as a key at most, empty allowed.
 */
export function checkLabel(field: string, text: string, limits: Limits): string {
  if (text.length * 3 > limits.maxKeyBytes) {
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.maxKeyBytes) {
      throw limitExceeded(field, `${bytes} bytes exceeds the limit of ${describeBytes(limits.maxKeyBytes)}`);
    }
  }
  return text;
}

/** Checks an owner token: required, and no longer than a key. */
export function checkToken(field: string, token: string, limits: Limits): string {
  if (token === "") {
    throw invalidArgument(field, "must not be empty: pass the token that Lock returned");
  }
  return checkLabel(field, token, limits);
}

/** The wire LockGuard, as far as validation looks at it. */
export interface LockGuardField {
  name: string;
  token: string;
  minFencingToken: bigint;
}

/** Checks SetRequest.lock_guard and turns it into a store guard. */
export function checkLockGuard(field: string, guard: LockGuardField, limits: Limits): LockGuard {
  const name = checkKey(`${field}.name`, guard.name, limits);
  const token = checkLabel(`${field}.token`, guard.token, limits);
  if (guard.minFencingToken < 0n) {
    throw invalidArgument(`${field}.min_fencing_token`, `must not be negative, got ${guard.minFencingToken}`);
  }
  if (token === "" && guard.minFencingToken === 0n) {
    // A guard that checks nothing is almost surely a client bug (a token
    // left out), and applying the write anyway would hide it.
    throw invalidArgument(field, "give a token, a min_fencing_token, or both");
  }
  if (guard.minFencingToken > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidArgument(`${field}.min_fencing_token`, `${guard.minFencingToken} exceeds the largest fencing token, ${Number.MAX_SAFE_INTEGER}`);
  }
  return { name, token, minFencingToken: Number(guard.minFencingToken) };
}
