import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { LarderError } from "./errors.js";
import type { MissPolicy, MissSteps } from "./get-or-compute.js";
import { LockNotAcquiredError, type Locks } from "./lock.js";

/** Options of {@link LockMissPolicy}. */
export interface LockMissPolicyOptions {
  /**
   * TTL of the compute lock, in seconds; it is renewed while getValue runs,
   * so this is how soon another caller takes over from one that died.
   * Default 5.
   */
  lockTtl?: number;
  /** How long a caller waits for another's computation when the call gives no `lockWait`, in seconds. Default 10. */
  lockWait?: number;
}

/** The prefix of compute locks, so that they read as such in ListLocks. */
export const computeLockPrefix = "larder:compute:";
/** Longer keys are hashed into the lock name, which must stay within the server's key size limit. */
const maxLiteralKeyBytes = 200;
/** The longest single CheckLock wait, well under the server's default maximum (60 s). */
const maxCheckWaitSeconds = 30;

/**
 * The lock that serializes computations of `key` across processes.
 *
 * @param key the cache key.
 */
export function computeLockName(key: string): string {
  if (Buffer.byteLength(key) <= maxLiteralKeyBytes) return computeLockPrefix + key;
  return `${computeLockPrefix}sha256:${createHash("sha256").update(key).digest("base64url")}`;
}

/**
 * Stampede protection across processes (at most one caller computes a
 * missing value at a time, the others wait for its result): on a miss, the caller
 * that gets the key's compute lock reads again (another may have just
 * stored it), computes only if still missing, stores, and unlocks. The
 * others wait for the lock to be free (CheckLock, woken by the release)
 * and read the stored value; they do not queue for the lock one by one.
 * If the computer failed or died (its lock expires after `lockTtl`), a
 * waiter takes the lock and computes itself. Waiting is bounded by
 * `lockWait`, after which a {@link LockNotAcquiredError} names the holder.
 *
 * A server that cannot lock for this caller (an API key without the
 * "lock" permission, or a server without locks) degrades to computing
 * without cross-process protection rather than failing every miss.
 */
export class LockMissPolicy implements MissPolicy {
  private readonly lockTtl: number;
  private readonly lockWait: number;

  /**
   * @param locks the cache's lock operations.
   * @param options timing.
   */
  constructor(
    private readonly locks: Pick<Locks, "acquire" | "check">,
    options: LockMissPolicyOptions = {},
  ) {
    this.lockTtl = options.lockTtl ?? 5;
    this.lockWait = options.lockWait ?? 10;
  }

  async resolveMiss<T>(key: string, steps: MissSteps<T>): Promise<T> {
    const name = computeLockName(key);
    const wait = steps.lockWait ?? this.lockWait;
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      let got: Awaited<ReturnType<Locks["acquire"]>>;
      try {
        // The default owner label (host:pid) tells an operator which process computes.
        got = await this.locks.acquire(name, { ttl: this.lockTtl, autoRenew: true });
      } catch (err) {
        if (err instanceof LarderError && (err.code === Code.PermissionDenied || err.code === Code.Unimplemented)) {
          return steps.computeAndStore();
        }
        throw err;
      }
      if (got.acquired) {
        try {
          const again = await steps.reread();
          return again.found ? again.value : await steps.computeAndStore();
        } finally {
          // Never throws: if the release cannot reach the server, the lock
          // expires within lockTtl, and the value (or error) stands.
          await got[Symbol.asyncDispose]();
        }
      }
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) {
        throw new LockNotAcquiredError(
          name,
          got.holder,
          `get: waited ${wait} s for another caller computing ${JSON.stringify(key)}; raise lockWait if getValue takes longer`,
        );
      }
      await this.locks.check(name, Math.min(left, maxCheckWaitSeconds));
      const after = await steps.reread();
      if (after.found) return after.value;
    }
  }
}
