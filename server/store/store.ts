/**
 * The one backend interface. The service validates requests and applies
 * defaults; a store only keeps data, atomically and per namespace. Every
 * method is one round trip to the backend.
 *
 * All times are milliseconds since the Unix epoch, taken from the store's own
 * clock (Redis' TIME for Redis, so that every server instance agrees).
 */

import type { CommandState } from "./command-state.js";
export interface Store {
  /** A short name for logs and metrics: "memory" or "redis". */
  readonly kind: string;

  /**
   * RunCommand's shared state (cached responses, fallback mode, events,
   * single-flight leases), kept in this backend so that every server
   * instance sharing it sees one state per command identity.
   */
  readonly commandState: CommandState;

  /**
   * Reads one entry. A plain read writes nothing to the backend. With
   * `touchTtlMs`, a hit also resets the expiry to that many ms from now, in
   * the same step; with `trackRead`, it records the read time, at most once
   * a second per key (`lastReadAt` has that resolution), however hot the key.
   */
  get(ns: string, key: string, touchTtlMs?: number, trackRead?: boolean): Promise<Entry | undefined>;

  /** Reads many entries, answering in the order of `keys`; `trackRead` as in {@link Store.get}. */
  getMany(ns: string, keys: readonly string[], trackRead?: boolean): Promise<(Entry | undefined)[]>;

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

  /**
   * One attempt to grant a lock: succeeds only if nobody holds it. A grant
   * gets the next fencing token of the namespace's lock sequence, which
   * never expires, so tokens rise across expiries and releases.
   */
  lock(ns: string, name: string, grant: LockGrant): Promise<LockAttempt>;

  /** Releases a lock if `token` holds it; a release wakes watchers (see watchLocks). */
  unlock(ns: string, name: string, token: string): Promise<UnlockOutcome>;

  /** Sets a held lock's expiry to `ttlMs` from now, if `token` holds it. */
  extendLock(ns: string, name: string, token: string, ttlMs: number): Promise<ExtendLockOutcome>;

  /** The current holder of a lock, or undefined when it is free. */
  checkLock(ns: string, name: string): Promise<LockHolder | undefined>;

  /** One page of the live locks whose names match a glob; cursors as in {@link Store.keys}. */
  listLocks(ns: string, pattern: string, cursor: string, limit: number): Promise<LocksPage>;

  /**
   * Calls `onRelease` with a lock's name whenever a lock of the namespace is
   * released by Unlock, from any server sharing the backend. Expiry is not
   * announced. Resolves once the subscription is live, so that a release
   * after it resolves is never missed (short of a lost connection); the
   * returned function unsubscribes.
   */
  watchLocks(ns: string, onRelease: (name: string) => void): Promise<() => void>;

  /**
   * The namespaces that hold entries, with their entry counts, for the
   * dashboard. Looks at no more than `maxScan` backend keys: past that,
   * counts are extrapolated and `approximate` is set.
   */
  sampleNamespaces(maxScan: number): Promise<NamespaceSample>;

  /** Resolves when the backend answers; throws an `unavailable` LarderError otherwise. */
  ping(): Promise<void>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** A stored value: JSON text or opaque bytes. */
export type StoredValue =
  | {
      readonly kind: "json";
      readonly json: string;
      /**
       * The same JSON text as UTF-8, when the store holds it that way: a
       * transport may send these bytes as they are instead of encoding
       * `json` again. Valid UTF-8 whenever present.
       */
      readonly utf8?: Uint8Array;
    }
  | { readonly kind: "binary"; readonly binary: Uint8Array };

/** The metadata kept with every entry. */
export interface EntryMeta {
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Undefined when the entry never expires. */
  readonly expiresAt: number | undefined;
  /** Undefined when the entry was never read, or its namespace does not track reads. */
  readonly lastReadAt: number | undefined;
  /** Rises on every write of the key, and never repeats for it. */
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
  /** When set, the write also requires the lock, checked in the same atomic step. */
  readonly guard?: LockGuard | undefined;
}

/**
 * A lock condition on a write. The lock must be held; with `token` by that
 * grant, with `minFencingToken` (when above 0) by a grant at least that new.
 */
export interface LockGuard {
  readonly name: string;
  /** "" when not checked. */
  readonly token: string;
  /** 0 when not checked. */
  readonly minFencingToken: number;
}

/** What a Lock attempt asks for; the service has applied defaults and limits. */
export interface LockGrant {
  /** The secret owner token of the grant, made by the service. */
  readonly token: string;
  /** The holder's label, shown to others. */
  readonly owner: string;
  readonly ttlMs: number;
}

/** Who holds a lock. */
export interface LockHolder {
  readonly owner: string;
  readonly expiresAt: number;
  readonly fencingToken: number;
  /**
   * Time left until `expiresAt` by the store's own clock, so that a waiter
   * can plan its next attempt without trusting its own clock to agree.
   */
  readonly remainingMs: number;
}

/** What one Lock attempt did. */
export type LockAttempt =
  | { readonly acquired: true; readonly fencingToken: number; readonly expiresAt: number }
  | { readonly acquired: false; readonly holder: LockHolder };

/** What an Unlock did. */
export type UnlockOutcome = "released" | "notHeld" | "heldByOther";

/** What an ExtendLock did. */
export type ExtendLockOutcome =
  | { readonly status: "extended"; readonly expiresAt: number }
  | { readonly status: "notHeld" }
  | { readonly status: "heldByOther" };

/** One live lock of a listing. */
export interface LockInfo {
  readonly name: string;
  readonly holder: LockHolder;
}

/** One page of a lock listing. */
export interface LocksPage {
  readonly locks: LockInfo[];
  readonly nextCursor: string;
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

/** What {@link Store.sampleNamespaces} found. */
export interface NamespaceSample {
  /** Namespace → entries (expired ones not yet swept may count). */
  readonly counts: ReadonlyMap<string, number>;
  /** True when the backend held more keys than were looked at. */
  readonly approximate: boolean;
}

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
