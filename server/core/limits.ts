/**
 * The configurable request limits (sizes, batch and page sizes, lock TTLs
 * and waits) and the TTL policy (default, maximum, whether "no expiry" is
 * allowed). Every request is checked against these before it reaches a
 * store, and a refusal names the field and the limit.
 */
export interface Limits {
  /** Longest key (and lock name), in UTF-8 bytes. Default 1024. */
  maxKeyBytes: number;
  /** Largest value, in bytes (JSON text as UTF-8). Default 1 MiB. */
  maxValueBytes: number;
  /** Most keys or entries in one GetMany, SetMany or Delete. Default 1000. */
  maxBatchSize: number;
  /** Largest Keys and ListLocks page. Default 1000. */
  maxPageSize: number;
  /** Keys and ListLocks page size when the request gives none. Default 100. */
  defaultPageSize: number;
  /** Longest namespace name, in UTF-8 bytes. Default 128. */
  maxNamespaceBytes: number;
  /** Lock TTL when Lock gives none (seed: lockDuration). Default 30 s. */
  defaultLockTtlMs: number;
  /** Longest lock TTL. Default 1 hour. */
  maxLockTtlMs: number;
  /** Longest wait in Lock and CheckLock. Default 60 s. */
  maxLockWaitMs: number;
  /** Largest upstream response that RunCommand accepts. Default 5 MiB. */
  maxCommandResponseBytes: number;
}

/** What a namespace allows (TTLs) and records (read times). */
export interface NamespacePolicy {
  /** TTL of a write that gives none. Default 3600 s. */
  defaultTtlMs: number;
  /** Longest TTL a write may ask for. Default 30 days. */
  maxTtlMs: number;
  /** Whether a write may ask for no expiry. Default true. */
  allowNoExpiry: boolean;
  /**
   * Whether Get and GetMany record `last_read_at`, to the second: at most
   * one write per key per second however hot the key. Default false: reads
   * write nothing, and `last_read_at` stays unset.
   */
  trackReads: boolean;
}

/** The defaults of {@link Limits}. */
export const defaultLimits: Readonly<Limits> = {
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  maxBatchSize: 1000,
  maxPageSize: 1000,
  defaultPageSize: 100,
  maxNamespaceBytes: 128,
  defaultLockTtlMs: 30_000,
  maxLockTtlMs: 3_600_000,
  maxLockWaitMs: 60_000,
  maxCommandResponseBytes: 5 * 1024 * 1024,
};

/** The defaults of {@link NamespacePolicy}. */
export const defaultNamespacePolicy: Readonly<NamespacePolicy> = {
  defaultTtlMs: 3_600_000,
  maxTtlMs: 30 * 24 * 3_600_000,
  allowNoExpiry: true,
  trackReads: false,
};

/** Formats milliseconds for error messages: "2592000000 ms (30 days)". */
export function describeMs(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${ms} ms (${n} ${name}${n === 1 ? "" : "s"})`;
    }
  }
  return `${ms} ms`;
}

/** Formats a byte count for error messages: "1048576 bytes (1 MiB)". */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes} bytes (${bytes / 1024 / 1024} MiB)`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes} bytes (${bytes / 1024} KiB)`;
  return `${bytes} bytes`;
}
