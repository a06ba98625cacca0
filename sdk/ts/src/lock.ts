import { hostname } from "node:os";
import { Code, type CallOptions, type Client } from "@connectrpc/connect";
import type { CacheService } from "../gen/larder/v1/cache_pb.js";
import { ExtendLockStatus, UnlockStatus, type LockHolder as WireHolder } from "../gen/larder/v1/lock_pb.js";
import { invalidArgument, LarderError } from "./errors.js";
import type { Idempotency } from "./retry.js";
import { dateOf, secondsToMs } from "./values.js";

/** Options of `Cache.lock` and `Cache.tryLock`. */
export interface LockOptions {
  /** How long the lock lasts unless renewed, in seconds. Default: the server's lock duration, 30 s unless configured. */
  ttl?: number;
  /** How long to wait for a busy lock, in seconds. Default 0: try once. At most the server's limit, 60 s unless configured. */
  wait?: number;
  /** A label for the holder, shown to others by checkLock errors and listLocks. Default `<hostname>:<pid>`. */
  owner?: string;
  /**
   * Renew the lock every third of its TTL until it is released, so that a
   * long critical section keeps it while a crashed process loses it within
   * one TTL. Default false.
   */
  autoRenew?: boolean;
}

/** Who holds a lock. */
export interface LockHolderInfo {
  /** The holder's owner label. */
  owner: string;
  /** When the holder's grant expires unless renewed. */
  expiresAt: Date;
  /** The fencing token of the holder's grant. */
  fencingToken: number;
}

/** One live lock, as `Cache.listLocks` lists it. */
export interface LockInfo extends LockHolderInfo {
  /** The lock's name. */
  name: string;
}

/**
 * A held lock. Release it with {@link LockHandle.release}, or let
 * `await using` release it at the end of the block:
 *
 * ```ts
 * await using lock = await cache.lock("report", { ttl: 30, wait: 5 });
 * await cache.set("report", data, { lock }); // applies only while the lock is held
 * ```
 */
export interface LockHandle extends AsyncDisposable {
  /** The lock's name. */
  readonly name: string;
  /** The secret owner token; the proof of ownership for release, extend and guarded writes. */
  readonly token: string;
  /**
   * Rises with every grant of this name and never repeats. Pass it to
   * storage that can reject writes carrying an older token (fencing).
   */
  readonly fencingToken: number;
  /** When the grant expires unless renewed; moves with extend and autoRenew. */
  readonly expiresAt: Date;
  /** Always true: a handle exists only for a granted lock. */
  readonly acquired: true;
  /**
   * Aborted when the handle learns that it lost the lock (a renewal found it
   * expired or held by another), so that work under the lock can stop.
   */
  readonly signal: AbortSignal;
  /**
   * Releases the lock and stops any renewal.
   *
   * @returns true if this call released it; false if it had expired, was
   *   taken over, or was released before.
   */
  release(): Promise<boolean>;
  /**
   * Sets the expiry to `ttl` seconds from now.
   *
   * @param ttl seconds; default the TTL the lock was taken with.
   * @returns the new expiry.
   * @throws LarderError FAILED_PRECONDITION when the lock is no longer held.
   */
  extend(ttl?: number): Promise<Date>;
  /** Releases like {@link LockHandle.release}, but never throws: an unreachable server leaves the lock to its TTL, and an error here would mask the error of the block it closes. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Thrown by `Cache.lock` (and a stampede-safe get) when the lock
 * stayed busy for the whole wait. Its code is ABORTED, gRPC's code for a
 * concurrency conflict that the caller may retry at a higher level, so
 * that it is neither retried automatically (like UNAVAILABLE) nor mistaken
 * for a deadline of the call itself.
 */
export class LockNotAcquiredError extends LarderError {
  /**
   * @param name the lock's name.
   * @param holder who held it when the wait ended, if known.
   * @param message what the caller was doing.
   */
  constructor(
    readonly lockName: string,
    readonly holder: LockHolderInfo | undefined,
    message?: string,
  ) {
    const by = holder === undefined ? "" : ` (held by ${JSON.stringify(holder.owner)} until ${holder.expiresAt.toISOString()})`;
    super(Code.Aborted, message ?? `lock: ${JSON.stringify(lockName)} was not acquired within the wait${by}`);
    this.name = "LockNotAcquiredError";
  }
}

/** The answer of {@link Locks.acquire} when the lock stayed busy. */
export interface NotAcquired {
  readonly acquired: false;
  /** Who held it at the end of the wait; undefined if it freed just then. */
  readonly holder: LockHolderInfo | undefined;
}

/** Runs one RPC with the cache's deadline (plus `extraMs`), headers and retry policy. */
export type LockCall = <R>(
  idempotency: Idempotency,
  rpc: (client: Client<typeof CacheService>, options: CallOptions) => Promise<R>,
  extraMs?: number,
) => Promise<R>;

/** The lock operations of a cache, over its call function. */
export class Locks {
  private readonly defaultOwner = `${hostname()}:${process.pid}`;

  /** @param call runs one RPC the way the cache does. */
  constructor(private readonly call: LockCall) {}

  /**
   * Acquires a lock or returns who holds it.
   *
   * @param name the lock's name.
   * @param options TTL, wait, owner label and renewal.
   */
  async acquire(name: string, options: LockOptions = {}): Promise<LockHandle | NotAcquired> {
    if (typeof name !== "string") throw invalidArgument("name", `must be a string, got ${typeof name}`);
    const ttlMs = options.ttl === undefined ? 0n : secondsToMs("ttl", options.ttl);
    const waitMs = options.wait === undefined || options.wait === 0 ? 0n : secondsToMs("wait", options.wait);
    const owner = options.owner ?? this.defaultOwner;
    // Lock is never retried: a grant whose answer was lost would be held by
    // nobody until its TTL, and a retry would wait a second time.
    const res = await this.call("once", (c, o) => c.lock({ name, ttlMs, waitMs, owner }, o), Number(waitMs));
    if (!res.acquired) return { acquired: false, holder: holderInfo(res.holder) };
    return new Handle(this.call, name, res.token, Number(res.fencingToken), dateOf(res.expiresAt) ?? new Date(), ttlMs, options.autoRenew === true);
  }

  /**
   * Whether a lock is free now, or becomes free within `wait` seconds.
   *
   * @param name the lock's name.
   * @param wait seconds to wait; default 0.
   */
  async check(name: string, wait?: number): Promise<boolean> {
    const waitMs = wait === undefined || wait === 0 ? 0n : secondsToMs("wait", wait);
    const res = await this.call("idempotent", (c, o) => c.checkLock({ name, waitMs }, o), Number(waitMs));
    return res.available;
  }

  /**
   * Every live lock whose name matches a glob, following all pages.
   *
   * @param pattern the glob; default `*`.
   */
  async list(pattern = ""): Promise<LockInfo[]> {
    const out = new Map<string, LockInfo>();
    let cursor = "";
    do {
      const page = await this.call("idempotent", (c, o) => c.listLocks({ pattern, cursor, limit: 1000 }, o));
      for (const lock of page.locks) {
        const holder = holderInfo(lock.holder);
        if (holder !== undefined) out.set(lock.name, { name: lock.name, ...holder });
      }
      cursor = page.nextCursor;
    } while (cursor !== "");
    return [...out.values()];
  }
}

/** The {@link LockHandle} implementation. */
class Handle implements LockHandle {
  readonly acquired = true;
  private readonly lost = new AbortController();
  private renewal: NodeJS.Timeout | undefined;
  /** Set by the first release call: no more renewals from then on. */
  private releasing = false;
  /** Set once a release got an answer: later calls have nothing to do. */
  private released = false;

  constructor(
    private readonly call: LockCall,
    readonly name: string,
    readonly token: string,
    readonly fencingToken: number,
    public expiresAt: Date,
    private readonly ttlMs: bigint,
    autoRenew: boolean,
  ) {
    if (autoRenew) this.scheduleRenewal();
  }

  get signal(): AbortSignal {
    return this.lost.signal;
  }

  async release(): Promise<boolean> {
    if (this.released) return false;
    this.releasing = true;
    clearTimeout(this.renewal);
    // Safe to repeat: a retry after a lost answer finds NOT_HELD, which is
    // the state the caller asked for. A release that failed altogether may
    // be called again.
    const res = await this.call("idempotent", (c, o) => c.unlock({ name: this.name, token: this.token }, o));
    this.released = true;
    return res.status === UnlockStatus.RELEASED;
  }

  async extend(ttl?: number): Promise<Date> {
    const ttlMs = ttl === undefined ? this.ttlMs : secondsToMs("ttl", ttl);
    const res = await this.call("idempotent", (c, o) => c.extendLock({ name: this.name, token: this.token, ttlMs }, o));
    if (res.status !== ExtendLockStatus.EXTENDED) {
      this.markLost();
      const why = res.status === ExtendLockStatus.HELD_BY_OTHER ? "another holder has it" : "it expired";
      throw new LarderError(Code.FailedPrecondition, `extend: lock ${JSON.stringify(this.name)} is no longer held by this handle: ${why}`);
    }
    this.expiresAt = dateOf(res.expiresAt) ?? this.expiresAt;
    return this.expiresAt;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release().catch(() => false);
  }

  private scheduleRenewal(): void {
    // A third of the TTL leaves two more tries before expiry if one fails.
    // Without an explicit TTL, the grant's own length stands in for it.
    const ttlMs = this.ttlMs > 0n ? Number(this.ttlMs) : Math.max(1000, this.expiresAt.getTime() - Date.now());
    this.renewal = setTimeout(() => {
      if (this.releasing) return;
      this.extend().then(
        () => {
          if (!this.releasing) this.scheduleRenewal();
        },
        () => {
          // A lost lock ends the renewal; a transient failure tries again.
          if (!this.lost.signal.aborted && !this.releasing) this.scheduleRenewal();
        },
      );
    }, ttlMs / 3);
    // Renewal alone must not keep a finished process alive.
    this.renewal.unref();
  }

  private markLost(): void {
    clearTimeout(this.renewal);
    // After release, "not held" is the expected state, not a loss.
    if (this.releasing) return;
    this.lost.abort(new LarderError(Code.FailedPrecondition, `lock ${JSON.stringify(this.name)} was lost`));
  }
}

/** The holder of a wire answer, if set. */
export function holderInfo(holder: WireHolder | undefined): LockHolderInfo | undefined {
  if (holder === undefined) return undefined;
  return { owner: holder.owner, expiresAt: dateOf(holder.expiresAt) ?? new Date(0), fencingToken: Number(holder.fencingToken) };
}
