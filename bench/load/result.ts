/** What one timed load run measured, whichever tool drove it. */
export interface LoadResult {
  /** Calls completed in the measured window (warm-up excluded). */
  readonly calls: number;
  /** The measured window, in seconds. */
  readonly seconds: number;
  readonly callsPerSec: number;
  /** Median latency of successful calls, in microseconds. */
  readonly p50Us: number;
  /** 99th percentile latency of successful calls, in microseconds. */
  readonly p99Us: number;
  /** Calls that failed (transport error, non-200, non-OK status) in the window. */
  readonly errors: number;
  /** The first failure, to tell a broken run from a slow one. */
  readonly firstError?: string;
}

/**
 * Nearest-rank percentile of latencies (sorted in place). Nearest-rank,
 * not interpolation, so every reported figure is a latency that happened.
 */
export function percentile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** p50 and p99 of a list of latencies in microseconds. */
export function latencySummary(latenciesUs: Float64Array): { p50Us: number; p99Us: number } {
  latenciesUs.sort();
  return { p50Us: percentile(latenciesUs, 0.5), p99Us: percentile(latenciesUs, 0.99) };
}

/**
 * Callbacks a load runner makes so the bench can read CPU times exactly at
 * the edges of the measured window, and know which process is the load
 * generator (its CPU shows whether it, rather than the server, was the
 * bottleneck).
 */
export interface WindowHooks {
  started(loadgenPid: number): void;
  windowStart(): void;
  windowEnd(): void;
}
