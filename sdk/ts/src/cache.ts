import type { CommandEvent, CommandResult, RunCommandOptions } from "./commands.js";
import type { LockHandle, LockInfo, LockOptions } from "./lock.js";
import type { CacheEntry } from "./values.js";

/**
 * Options of {@link Cache.set}. Passing a number instead is short for `{ ttl }`.
 *
 * At most one condition (`onlyIfAbsent`, `onlyIfPresent`, `ifVersion`) may be
 * given. Conditional writes are never retried: if the first attempt reached
 * the server, a retry could report "not applied" for a write that happened.
 */
export interface SetOptions {
  /** Time to live in seconds, fractions allowed (ms precision). Default: the namespace default, 3600 s unless configured. */
  ttl?: number;
  /** Keep the entry until deleted; a namespace policy may forbid it. Excludes `ttl`. */
  noExpiry?: boolean;
  /** Write only if the key does not exist. */
  onlyIfAbsent?: boolean;
  /** Write only if the key exists. */
  onlyIfPresent?: boolean;
  /** Write only if the key exists with this version (compare-and-set; see {@link Cache.getEntry}). */
  ifVersion?: number;
  /**
   * Write only while this lock is held by this handle (fencing): a holder
   * whose lock expired and went to someone else gets `false`, checked by
   * the server in the same step as the write. Combines with the other
   * conditions.
   */
  lock?: Pick<LockHandle, "name" | "token">;
}

/** Options of a plain {@link Cache.get}. */
export interface GetOptions {
  /** Sliding expiry: on a hit, reset the TTL to this many seconds from now. */
  touch?: number;
}

/** Options of get-or-compute, the {@link Cache.get} overload with `getValue`. */
export interface GetOrComputeOptions<T> extends GetOptions {
  /** TTL of a computed value, in seconds. Default: the namespace default. */
  ttl?: number;
  /**
   * Produces the value on a miss. Must not return `undefined` (JSON cannot
   * hold it); return `null` to cache "nothing there".
   */
  getValue: () => T | Promise<T>;
  /**
   * On a miss, how long to wait for another caller (in any process) that is
   * computing the same key, in seconds, before failing with a
   * LockNotAcquiredError. Default 10.
   */
  lockWait?: number;
}

/** Options of {@link Cache.iterateKeys}. */
export interface IterateKeysOptions {
  /** Keys fetched per round trip, 1 to 1000. Default: the server's, 100. */
  pageSize?: number;
}

/** One entry of {@link Cache.setMany}. */
export interface SetManyEntry {
  /** The key. */
  key: string;
  /** The value; encoded like {@link Cache.set} does. */
  value: unknown;
  /** Time to live in seconds. Default: the namespace default. */
  ttl?: number;
}

/**
 * A Larder cache, bound to one server and one namespace. Create one with
 * {@link createCache} and share it: it multiplexes calls over one connection.
 *
 * Values are JSON-serialized (anything `JSON.stringify` accepts); a
 * `Uint8Array` is stored as opaque binary and read back as a `Uint8Array`.
 * TTLs are in seconds. Reads that miss resolve to `null`, never throw.
 * Failures reject with a {@link LarderError}.
 */
export interface Cache {
  /**
   * Writes a value.
   *
   * @param key 1 to 1024 UTF-8 bytes, taken literally.
   * @param value anything JSON can represent, or a Uint8Array.
   * @param ttl seconds to live, or {@link SetOptions}.
   * @returns whether the write was applied (always true without a condition).
   */
  set<T>(key: string, value: T, ttl?: number | SetOptions): Promise<boolean>;

  /**
   * Get-or-compute: returns the cached value, or on a miss calls `getValue`,
   * stores its result with `ttl` and returns it as a later read would (JSON
   * round-tripped). Concurrent calls for one key in this process share a
   * single read and a single `getValue` call; across processes, a lock
   * named `larder:compute:<key>` lets one caller compute while the others
   * wait up to `lockWait` and read its result.
   *
   * @param key the key.
   * @param options how to compute the value on a miss.
   */
  get<T>(key: string, options: GetOrComputeOptions<T>): Promise<T>;

  /**
   * Reads a value. A stored JSON `null` also reads as `null`; use
   * {@link Cache.getEntry} or {@link Cache.has} to tell it from a miss.
   *
   * @param key the key.
   * @param options sliding expiry.
   * @returns the value, or null on a miss.
   */
  get<T = unknown>(key: string, options?: GetOptions): Promise<T | null>;

  /**
   * Reads a value with its metadata (version, timestamps, expiry).
   *
   * @param key the key.
   * @param options sliding expiry.
   * @returns the entry, or null on a miss.
   */
  getEntry<T = unknown>(key: string, options?: GetOptions): Promise<CacheEntry<T> | null>;

  /**
   * Tells whether a key exists, without transferring its value.
   *
   * @param key the key.
   */
  has(key: string): Promise<boolean>;

  /**
   * Removes a key, or several.
   *
   * @param key one key, or an array of keys.
   * @returns whether the key (or any of the keys) existed.
   */
  delete(key: string | readonly string[]): Promise<boolean>;

  /**
   * Removes many keys, any number (sent in batches of 1000).
   *
   * @param keys the keys.
   * @returns how many of them existed.
   */
  deleteMany(keys: readonly string[]): Promise<number>;

  /**
   * Adds time to a key's remaining TTL. An entry without expiry stays so.
   * Not retried: a repeated attempt would add the time twice.
   *
   * @param key the key.
   * @param seconds seconds to add.
   * @returns whether the key existed.
   */
  extend(key: string, seconds: number): Promise<boolean>;

  /**
   * Lists every key matching a glob (`*`, `?`, `[a-z]`, `\` escapes),
   * following all pages. For large namespaces prefer {@link Cache.iterateKeys}.
   *
   * @param pattern the glob; default `*`.
   * @returns the keys, without duplicates, in no particular order.
   */
  keys(pattern?: string): Promise<string[]>;

  /**
   * Lists keys matching a glob lazily, fetching the next page only when the
   * previous one has been consumed. If keys are written during the listing,
   * a key may be yielded twice; one present throughout is yielded at least once.
   *
   * @param pattern the glob; default `*`.
   * @param options the page size.
   */
  iterateKeys(pattern?: string, options?: IterateKeysOptions): AsyncIterable<string>;

  /**
   * Reads many keys (any number; sent in batches of 1000).
   *
   * @param keys the keys.
   * @returns a map in request order, `null` for each miss.
   */
  getMany<T = unknown>(keys: readonly string[]): Promise<Map<string, T | null>>;

  /**
   * Writes many entries unconditionally, each with its own TTL (any number;
   * sent in batches of 1000, so a failure may leave earlier batches written).
   *
   * @param entries the entries.
   */
  setMany(entries: readonly SetManyEntry[]): Promise<void>;

  /**
   * Atomically adds to an integer value, creating it (with `ttl`) if absent.
   * An existing key keeps its expiry. Not retried: a repeat would count twice.
   *
   * @param key the key; its value must be a JSON integer.
   * @param delta the amount to add, possibly negative; default 1.
   * @param ttl seconds to live if the key is created.
   * @returns the value after the addition.
   */
  increment(key: string, delta?: number, ttl?: number): Promise<number>;

  /**
   * Acquires a named lock, waiting up to `wait` seconds for it. Use with
   * `await using` to release it at the end of the block:
   *
   * ```ts
   * await using lock = await cache.lock("nightly-report", { ttl: 60, wait: 5, autoRenew: true });
   * ```
   *
   * Not retried: a grant whose answer was lost would stay held until its TTL.
   *
   * @param name 1 to 1024 UTF-8 bytes, like a key; locks and keys are separate.
   * @param options TTL, wait, owner label, renewal.
   * @throws LockNotAcquiredError (code ABORTED) with the holder, when still busy after the wait.
   */
  lock(name: string, options?: LockOptions): Promise<LockHandle>;

  /**
   * Like {@link Cache.lock}, but resolves to null instead of throwing when
   * the lock stays busy.
   *
   * @param name the lock's name.
   * @param options TTL, wait (default 0: try once), owner label, renewal.
   */
  tryLock(name: string, options?: LockOptions): Promise<LockHandle | null>;

  /**
   * Whether a lock is free now, or becomes free within `wait` seconds (it
   * answers as soon as it frees). Takes nothing.
   *
   * @param name the lock's name.
   * @param wait seconds to wait; default 0.
   */
  checkLock(name: string, wait?: number): Promise<boolean>;

  /**
   * Lists the live locks whose names match a glob, with holder and expiry.
   *
   * @param pattern the glob; default `*`.
   */
  listLocks(pattern?: string): Promise<LockInfo[]>;

  /**
   * Runs a command defined in the server's configuration, with its response
   * caching and cache fallback. Not retried.
   *
   * @param name the command's name.
   * @param options args, caller headers, body.
   * @throws LarderError NOT_FOUND for an undefined command; UNAVAILABLE or
   *   DEADLINE_EXCEEDED when the upstream fails with nothing cached.
   */
  runCommand<T = unknown>(name: string, options?: RunCommandOptions): Promise<CommandResult<T>>;

  /**
   * The namespace's fallback activations and deactivations of the last 24 h, newest first.
   *
   * @param command only this command's events; default all.
   */
  commandEvents(command?: string): Promise<CommandEvent[]>;

  /**
   * Releases the connection. Calls made afterwards fail; calling close
   * again does nothing.
   */
  close(): Promise<void>;
}
