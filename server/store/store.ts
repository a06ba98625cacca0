/**
 * The one backend interface. The service validates requests and applies
 * defaults; a store only keeps data, atomically and per namespace. Every
 * method is one round trip to the backend.
 *
 * All times are milliseconds since the Unix epoch, taken from the store's own
 * clock (Redis' TIME for Redis, so that every server instance agrees).
 */
export interface Store {
  /** A short name for logs and metrics: "memory" or "redis". */
  readonly kind: string;

  /**
   * Reads one entry and records the read time. With `touchTtlMs`, a hit also
   * resets the expiry to that many ms from now, in the same step.
   */
  get(ns: string, key: string, touchTtlMs?: number): Promise<Entry | undefined>;

  /** Reads many entries, answering in the order of `keys`. */
  getMany(ns: string, keys: readonly string[]): Promise<(Entry | undefined)[]>;

  /** Writes one entry if its condition holds; value and expiry together. */
  set(ns: string, input: SetInput): Promise<SetOutcome>;

  /** Writes many entries unconditionally, all in one atomic step. */
  setMany(ns: string, inputs: readonly WriteInput[]): Promise<SetManyOutcome[]>;

  /** Tells whether a key exists, without reading its value. */
  has(ns: string, key: string): Promise<HasOutcome>;

  /** Removes keys; returns how many of them existed. */
  delete(ns: string, keys: readonly string[]): Promise<number>;

  /**
   * Adds `addMs` to a key's remaining TTL, unless the result would exceed
   * `maxTtlMs` from now. An entry without expiry keeps having none.
   */
  extend(ns: string, key: string, addMs: number, maxTtlMs: number): Promise<ExtendOutcome>;

  /**
   * One page of the keys matching a glob. `cursor` is "" for the first page;
   * the returned `nextCursor` is "" when the listing is complete. A key that
   * exists during the whole listing is returned at least once. Never blocks
   * the backend with a full scan.
   */
  keys(ns: string, pattern: string, cursor: string, limit: number): Promise<KeysPage>;

  /**
   * Adds `delta` to an integer value, creating it with `expiry` if absent.
   * Throws a `failedPrecondition` LarderError when the value is not a JSON
   * integer, and `outOfRange` when the result leaves int64.
   */
  increment(ns: string, key: string, delta: bigint, expiry: Expiry): Promise<IncrementOutcome>;

  /** Resolves when the backend answers; throws an `unavailable` LarderError otherwise. */
  ping(): Promise<void>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** A stored value: JSON text or opaque bytes. */
export type StoredValue =
  | { readonly kind: "json"; readonly json: string }
  | { readonly kind: "binary"; readonly binary: Uint8Array };

/** The metadata kept with every entry. */
export interface EntryMeta {
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Undefined when the entry never expires. */
  readonly expiresAt: number | undefined;
  /** Undefined when the entry was never read. */
  readonly lastReadAt: number | undefined;
  /** Rises on every write to the namespace. */
  readonly version: number;
}

/** A value with its metadata. */
export interface Entry {
  readonly value: StoredValue;
  readonly meta: EntryMeta;
}

/** A resolved expiry: the service has already applied defaults and limits. */
export type Expiry = { readonly ttlMs: number } | { readonly never: true };

/** When a Set applies. */
export type WriteCondition =
  | { readonly mode: "always" }
  | { readonly mode: "ifAbsent" }
  | { readonly mode: "ifPresent" }
  | { readonly mode: "ifVersion"; readonly version: number };

/** One unconditional write. */
export interface WriteInput {
  readonly key: string;
  readonly value: StoredValue;
  readonly expiry: Expiry;
}

/** A conditional write. */
export interface SetInput extends WriteInput {
  readonly condition: WriteCondition;
}

/** What a Set did. */
export interface SetOutcome {
  readonly applied: boolean;
  readonly created: boolean;
  /** The new version if applied, else the current one (0 when absent). */
  readonly version: number;
  /** The expiry after the call; undefined when none or absent. */
  readonly expiresAt: number | undefined;
}

/** What one entry of a SetMany did. */
export interface SetManyOutcome {
  readonly created: boolean;
  readonly version: number;
}

/** Whether a key exists, and when it expires. */
export type HasOutcome =
  | { readonly found: false }
  | { readonly found: true; readonly expiresAt: number | undefined };

/** What an Extend did. */
export type ExtendOutcome =
  | { readonly status: "missing" }
  | { readonly status: "extended"; readonly expiresAt: number | undefined }
  | { readonly status: "exceedsMax"; readonly remainingMs: number };

/** One page of a key listing. */
export interface KeysPage {
  readonly keys: string[];
  readonly nextCursor: string;
}

/** What an Increment did. */
export interface IncrementOutcome {
  readonly value: bigint;
  readonly created: boolean;
  readonly version: number;
  readonly expiresAt: number | undefined;
}
