import { LarderError } from "../core/errors.js";
import type { LockAttempt, LockGrant, LockHolder, Store } from "../store/store.js";

/** Options of {@link LockWaiters}. */
export interface LockWaitersOptions {
  /**
   * The longest sleep between two attempts, in ms; each sleep is a random
   * 60 to 100 % of it. Releases wake waiters at once through the store's
   * announcements; this poll only covers what is never announced (a grant
   * shortened by ExtendLock, an announcement lost while the subscriber
   * reconnected). Expiry is covered more precisely: a waiter also wakes
   * when the holder's grant runs out. Default 250.
   */
  maxPollMs?: number;
}

type WaiterKind = "acquire" | "observe";

/** One attempt's answer, and the holder that made it fail (undefined: done). */
interface Step<T> {
  readonly out: T;
  readonly holder: LockHolder | undefined;
}

/** One call waiting for a lock. */
class Waiter {
  /** A release was announced that no attempt of this waiter has seen yet. */
  pending = false;
  private wake: (() => void) | undefined;

  constructor(readonly kind: WaiterKind) {}

  /** Marks a release; ends the current sleep, or the next one at once. */
  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /**
   * Called right before each attempt: a release announced from now on may
   * have happened after the attempt looked, so it must wake the next sleep.
   */
  arm(): void {
    this.pending = false;
  }

  /** Sleeps up to `ms`, less if a release is announced or the call ends. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
      this.wake = done;
    });
  }
}

/** The waiters of one namespace, and its subscription to releases. */
interface Space {
  readonly byName: Map<string, Waiter[]>;
  size: number;
  /** Settles once the store listens for the namespace's releases. */
  ready: Promise<() => void>;
}

/**
 * Waiting for busy locks, for Lock and CheckLock with a wait. A waiter tries
 * once, then sleeps until the store announces a release of that name (any
 * server that shares the store announces it), the holder's grant runs out,
 * or a short poll with jitter ends, whichever comes first, and tries again;
 * never past its wait or its call.
 *
 * A release wakes one acquiring waiter per name in this process (the
 * longest waiting), not all: only one can win, and waking everyone would
 * turn every release into a burst of attempts against the store. A woken
 * waiter that leaves without trying passes the wake-up on. Observers
 * (CheckLock) all wake, since none of them takes the lock.
 */
export class LockWaiters {
  private readonly spaces = new Map<string, Space>();
  private readonly maxPollMs: number;

  /**
   * @param store where the locks live.
   * @param options timing.
   */
  constructor(
    private readonly store: Store,
    options: LockWaitersOptions = {},
  ) {
    this.maxPollMs = options.maxPollMs ?? 250;
  }

  /**
   * Tries to grant a lock, waiting up to `waitMs` for it to become free.
   * A grant won after the call ended is released again, so that a client
   * that gave up does not hold a lock it never heard of. `onWait` is told
   * when the first attempt found the lock held and the wait begins.
   */
  async acquire(
    ns: string,
    name: string,
    grant: LockGrant,
    waitMs: number,
    signal: AbortSignal,
    onWait?: () => void,
  ): Promise<LockAttempt> {
    const deadline = performance.now() + waitMs;
    const attempt = async (): Promise<LockAttempt> => {
      const out = await this.store.lock(ns, name, grant);
      if (out.acquired && signal.aborted) {
        await this.store.unlock(ns, name, grant.token).catch(() => undefined);
        throw ended();
      }
      return out;
    };
    const first = await attempt();
    if (first.acquired || waitMs <= 0) return first;
    onWait?.();
    return this.waitFor<LockAttempt>(ns, name, "acquire", deadline, signal, first, async () => {
      const out = await attempt();
      return { out, holder: out.acquired ? undefined : out.holder };
    });
  }

  /**
   * Waits up to `waitMs` for a lock to be free. Resolves to undefined as soon
   * as it is seen free, else to the holder at the end of the wait.
   */
  async awaitFree(ns: string, name: string, waitMs: number, signal: AbortSignal): Promise<LockHolder | undefined> {
    const deadline = performance.now() + waitMs;
    const first = await this.store.checkLock(ns, name);
    if (first === undefined || waitMs <= 0) return first;
    return this.waitFor<LockHolder | undefined>(ns, name, "observe", deadline, signal, first, async () => {
      const holder = await this.store.checkLock(ns, name);
      return { out: holder, holder };
    });
  }

  /** How many calls wait in this process; for tests and diagnostics. */
  get waiting(): number {
    let n = 0;
    for (const space of this.spaces.values()) n += space.size;
    return n;
  }

  private async waitFor<T>(
    ns: string,
    name: string,
    kind: WaiterKind,
    deadline: number,
    signal: AbortSignal,
    first: T,
    attempt: () => Promise<Step<T>>,
  ): Promise<T> {
    const space = this.join(ns);
    const waiter = new Waiter(kind);
    this.enqueue(space, name, waiter);
    try {
      // Listening before the next attempt closes the gap in which a release
      // would go unheard: any release after this is announced to us.
      await space.ready;
      let last = first;
      for (;;) {
        waiter.arm();
        const step = await attempt();
        last = step.out;
        if (step.holder === undefined) return last;
        const left = deadline - performance.now();
        if (left <= 0) return last;
        if (signal.aborted) throw ended();
        await waiter.sleep(this.delay(left, step.holder.remainingMs), signal);
        if (signal.aborted) throw ended();
      }
    } finally {
      this.leave(ns, space, name, waiter);
    }
  }

  /** The next sleep: the poll with jitter, cut short at the holder's expiry and the deadline. */
  private delay(left: number, holderRemainingMs: number): number {
    const poll = this.maxPollMs * (0.6 + 0.4 * Math.random());
    // A little after the expiry, spread, so that the waiters of one expired
    // lock do not all arrive in the same millisecond.
    const expiry = Math.max(0, holderRemainingMs) + 1 + Math.random() * (this.maxPollMs / 10);
    return Math.max(0, Math.min(left, poll, expiry));
  }

  private join(ns: string): Space {
    let space = this.spaces.get(ns);
    if (space === undefined) {
      const created: Space = { byName: new Map(), size: 0, ready: Promise.resolve(() => {}) };
      created.ready = this.store.watchLocks(ns, (name) => released(created, name));
      // Rejections are seen by every waiter awaiting `ready`; this one only
      // keeps an unobserved one from being reported as unhandled.
      created.ready.catch(() => undefined);
      space = created;
      this.spaces.set(ns, space);
    }
    return space;
  }

  private enqueue(space: Space, name: string, waiter: Waiter): void {
    let queue = space.byName.get(name);
    if (queue === undefined) {
      queue = [];
      space.byName.set(name, queue);
    }
    queue.push(waiter);
    space.size++;
  }

  private leave(ns: string, space: Space, name: string, waiter: Waiter): void {
    const queue = space.byName.get(name) ?? [];
    const i = queue.indexOf(waiter);
    if (i >= 0) {
      queue.splice(i, 1);
      space.size--;
    }
    if (queue.length === 0) space.byName.delete(name);
    // A wake-up this waiter took but never used goes to the next in line.
    else if (waiter.kind === "acquire" && waiter.pending) wakeNextAcquirer(queue);
    if (space.size === 0 && this.spaces.get(ns) === space) {
      this.spaces.delete(ns);
      space.ready.then(
        (unwatch) => unwatch(),
        () => undefined,
      );
    }
  }
}

/** Hands a release of `name` to the waiters of a namespace. */
function released(space: Space, name: string): void {
  const queue = space.byName.get(name);
  if (queue === undefined) return;
  for (const waiter of queue) if (waiter.kind === "observe") waiter.notify();
  wakeNextAcquirer(queue);
}

function wakeNextAcquirer(queue: readonly Waiter[]): void {
  // Skipping waiters already woken: their attempt is on its way, and a
  // second release needs a second taker.
  queue.find((w) => w.kind === "acquire" && !w.pending)?.notify();
}

function ended(): LarderError {
  return new LarderError("deadlineExceeded", "wait_ms: the call ended while waiting for the lock");
}
