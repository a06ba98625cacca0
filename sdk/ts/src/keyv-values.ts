import { invalidArgument } from "./errors.js";

/**
 * How the Keyv store maps what Keyv hands it to what Larder stores, and back.
 *
 * Keyv wraps every value in an envelope `{ value, expires }`. By default it
 * serializes the envelope to a string before the store sees it; with
 * `new Keyv({ serialization: false })` the store gets the envelope itself.
 */

/** The two value formats of the Keyv store; see `KeyvStoreOptions.valueFormat`. */
export type KeyvValueFormat = "keyv" | "json";

/** The envelope Keyv reads back from a store when it does not serialize. */
export interface KeyvEnvelope {
  /** The value. */
  value: unknown;
}

/**
 * What to store in Larder for a value Keyv passes to `set`.
 *
 * @param format the store's value format.
 * @param key the key, for error messages.
 * @param value what Keyv passed.
 */
export function toLarder(format: KeyvValueFormat, key: string, value: unknown): unknown {
  if (format === "keyv") {
    // Keyv's serialized text is stored as a JSON string: it round-trips
    // exactly, whatever serializer, compression or encryption Keyv uses.
    if (typeof value !== "string") {
      throw invalidArgument(
        `value of ${JSON.stringify(key)}`,
        "Keyv passed an unserialized value; with new Keyv({ serialization: false }) use createKeyvStore({ valueFormat: \"json\" })",
      );
    }
    return value;
  }
  if (typeof value === "string" || typeof value !== "object" || value === null || !("value" in value)) {
    throw invalidArgument(
      `value of ${JSON.stringify(key)}`,
      "valueFormat \"json\" needs new Keyv({ serialization: false }), so that Keyv passes values unserialized",
    );
  }
  const inner = (value as KeyvEnvelope).value;
  // JSON has no undefined; storing null instead would read back differently.
  if (inner === undefined) {
    throw invalidArgument(`value of ${JSON.stringify(key)}`, "undefined cannot be stored as JSON; use null");
  }
  return inner;
}

/**
 * What to hand Keyv for a value read from Larder.
 *
 * No `expires` goes into the envelope: Larder enforces the TTL itself, and an
 * expiry from the server's clock compared with this machine's by Keyv would
 * turn clock skew into spurious misses (and deletes).
 *
 * @param format the store's value format.
 * @param stored the decoded Larder value.
 */
export function fromLarder(format: KeyvValueFormat, stored: unknown): string | KeyvEnvelope {
  // A string in "keyv" format is Keyv's own text, which Keyv parses. Any
  // other JSON was written by another SDK: wrapped, Keyv reads it as is.
  if (format === "keyv" && typeof stored === "string") return stored;
  return { value: stored };
}

/**
 * The TTL in milliseconds for what Keyv passes as the third argument of
 * `set`: keyv 6 passes an absolute expiry (ms since the epoch), keyv 5 a
 * relative TTL. Larder caps TTLs at 30 days (2.6e9 ms), far below any
 * timestamp after 2001 (1e12), so the two cannot be confused.
 *
 * @returns undefined for "never expires", else the remaining milliseconds
 * (0 or less: already expired).
 */
export function ttlMsOf(expiresOrTtl: number | undefined): number | undefined {
  if (expiresOrTtl === undefined || !Number.isFinite(expiresOrTtl)) return undefined;
  return expiresOrTtl > absoluteThreshold ? expiresOrTtl - Date.now() : expiresOrTtl;
}

/** Numbers above this are epoch milliseconds, below it relative TTLs. */
const absoluteThreshold = 1e12;

/**
 * Escapes glob metacharacters so that a prefix matches only itself in a
 * Keys pattern.
 *
 * @param text the literal text.
 */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
