import { SingleFlight } from "./single-flight.js";

/** The result of reading a key: a hit with its value, or a miss. */
export type Lookup<T> = { found: true; value: T } | { found: false };

/** What get-or-compute needs from the cache: one read and one write. */
export interface ComputeIo {
  /** Reads a key; `touch` (seconds) resets its expiry on a hit. */
  read<T>(key: string, touch?: number): Promise<Lookup<T>>;
  /**
   * Stores a freshly computed value and returns it as a later read would
   * (JSON round-tripped), so that hit and miss paths return alike.
   */
  store<T>(key: string, value: T, ttl?: number): Promise<T>;
}

/** The steps a {@link MissPolicy} can take for one missing key. */
export interface MissSteps<T> {
  /** Reads the key again, e.g. after waiting for another computer. */
  reread(): Promise<Lookup<T>>;
  /** Calls the caller's getValue and stores its result. */
  computeAndStore(): Promise<T>;
  /** How long the caller accepts to wait for another computer, in seconds; undefined for the policy's default. */
  readonly lockWait: number | undefined;
}

/**
 * What happens after a miss. This is the seam for stampede protection
 * across processes: a lock-based policy acquires a lock named
 * after the key, calls `reread()` in case another process filled it while
 * this one waited, and only then `computeAndStore()`, releasing the lock
 * afterwards. In-process deduplication happens before the policy is asked,
 * so a policy only ever sees one miss per key per process at a time.
 */
export interface MissPolicy {
  /**
   * Produces the value of a missing key.
   *
   * @param key the missing key.
   * @param steps what the policy may do about it.
   */
  resolveMiss<T>(key: string, steps: MissSteps<T>): Promise<T>;
}

/** Compute as soon as the key is missing: no protection across processes. */
export const computeOnMiss: MissPolicy = {
  resolveMiss: (_key, steps) => steps.computeAndStore(),
};

/** Options of one get-or-compute call. */
export interface ComputeRequest<T> {
  /** Produces the value on a miss. */
  getValue: () => T | Promise<T>;
  /** TTL of the computed value, in seconds; default the namespace default. */
  ttl?: number | undefined;
  /** Sliding expiry on a hit, in seconds. */
  touch?: number | undefined;
  /** Handed to the policy as {@link MissSteps.lockWait}. */
  lockWait?: number | undefined;
}

/**
 * Get-or-compute (seed 000 `getValue`): read a key, and on a miss compute
 * the value once and store it.
 *
 * Concurrent calls for the same key in this process share one flight that
 * covers the read as well as the computation: sharing only the computation
 * would let a caller whose read was slow miss after the first flight ended
 * and compute a second time.
 */
export class GetOrCompute {
  private readonly flights = new SingleFlight();

  /**
   * @param io the cache's read and write.
   * @param policy what to do on a miss.
   */
  constructor(
    private readonly io: ComputeIo,
    private readonly policy: MissPolicy = computeOnMiss,
  ) {}

  /**
   * Returns the cached value of `key`, computing and storing it on a miss.
   * Callers that join a flight get the first caller's result, also when
   * their own `ttl` or `touch` differ.
   *
   * @param key the key.
   * @param request how to compute and store the value.
   */
  run<T>(key: string, request: ComputeRequest<T>): Promise<T> {
    return this.flights.run(key, async () => {
      const hit = await this.io.read<T>(key, request.touch);
      if (hit.found) return hit.value;
      return this.policy.resolveMiss<T>(key, {
        reread: () => this.io.read<T>(key),
        computeAndStore: async () => this.io.store(key, await request.getValue(), request.ttl),
        lockWait: request.lockWait,
      });
    });
  }
}
