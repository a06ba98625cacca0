import { LarderError } from "../../core/errors.js";
import { globToRegExp } from "../glob.js";
import type {
  ExtendLockOutcome,
  LockAttempt,
  LockGrant,
  LockGuard,
  LockHolder,
  LocksPage,
  UnlockOutcome,
} from "../store.js";

interface LockSlot {
  readonly name: string;
  readonly token: string;
  readonly owner: string;
  readonly fencingToken: number;
  /** Creation order within the namespace, for stable ListLocks cursors. */
  readonly position: number;
  expiresAt: number;
}

interface LockSpace {
  readonly locks: Map<string, LockSlot>;
  /**
   * The fencing sequence. It lives as long as the namespace (the memory
   * store never drops one), so tokens keep rising across expiries, and it
   * is one counter per namespace rather than one per name, because
   * get-or-compute locks a fresh name per key and per-name counters would
   * pile up forever.
   */
  seq: number;
  /** The last position handed out. */
  created: number;
  readonly watchers: Set<(name: string) => void>;
}

/**
 * The locks of the memory store: the same semantics as the Redis scripts,
 * on the memory store's injectable clock, with releases announced to
 * in-process watchers instead of pub/sub. Kept apart from the entries, so
 * that locks are neither counted against nor evicted by the LRU bounds.
 */
export class MemoryLocks {
  private readonly spaces = new Map<string, LockSpace>();

  /** @param now the memory store's clock, in ms since the epoch. */
  constructor(private readonly now: () => number) {}

  /** See `Store.lock`. */
  lock(ns: string, name: string, grant: LockGrant): LockAttempt {
    const now = this.now();
    const space = this.space(ns);
    const held = this.live(space, name, now);
    if (held !== undefined) return { acquired: false, holder: holderOf(held, now) };
    const slot: LockSlot = {
      name,
      token: grant.token,
      owner: grant.owner,
      fencingToken: ++space.seq,
      position: ++space.created,
      expiresAt: now + grant.ttlMs,
    };
    space.locks.set(name, slot);
    return { acquired: true, fencingToken: slot.fencingToken, expiresAt: slot.expiresAt };
  }

  /** See `Store.unlock`. */
  unlock(ns: string, name: string, token: string): UnlockOutcome {
    const space = this.spaces.get(ns);
    const held = space === undefined ? undefined : this.live(space, name, this.now());
    if (space === undefined || held === undefined) return "notHeld";
    if (held.token !== token) return "heldByOther";
    space.locks.delete(name);
    for (const watcher of space.watchers) {
      // A watcher that throws must not keep the others from hearing of it,
      // nor turn a successful release into a failed call.
      try {
        watcher(name);
      } catch {
        // ignored: see above
      }
    }
    return "released";
  }

  /** See `Store.extendLock`. */
  extendLock(ns: string, name: string, token: string, ttlMs: number): ExtendLockOutcome {
    const now = this.now();
    const space = this.spaces.get(ns);
    const held = space === undefined ? undefined : this.live(space, name, now);
    if (held === undefined) return { status: "notHeld" };
    if (held.token !== token) return { status: "heldByOther" };
    held.expiresAt = now + ttlMs;
    return { status: "extended", expiresAt: held.expiresAt };
  }

  /** See `Store.checkLock`. */
  checkLock(ns: string, name: string): LockHolder | undefined {
    const now = this.now();
    const space = this.spaces.get(ns);
    const held = space === undefined ? undefined : this.live(space, name, now);
    return held === undefined ? undefined : holderOf(held, now);
  }

  /** See `Store.listLocks`. */
  listLocks(ns: string, pattern: string, cursor: string, limit: number): LocksPage {
    const after = parsePositionCursor(cursor);
    const space = this.spaces.get(ns);
    if (space === undefined) return { locks: [], nextCursor: "" };
    const matcher = pattern === "*" ? undefined : globToRegExp(pattern);
    const now = this.now();
    const locks: LocksPage["locks"] = [];
    // As for Keys: map order is creation order, which positions number, so
    // the cursor is the last position handed out.
    for (const slot of space.locks.values()) {
      if (slot.position <= after || slot.expiresAt <= now) continue;
      if (matcher !== undefined && !matcher.test(slot.name)) continue;
      locks.push({ name: slot.name, holder: holderOf(slot, now) });
      if (locks.length === limit) {
        return { locks, nextCursor: space.created > slot.position ? String(slot.position) : "" };
      }
    }
    return { locks, nextCursor: "" };
  }

  /** See `Store.watchLocks`. */
  watch(ns: string, onRelease: (name: string) => void): () => void {
    const watchers = this.space(ns).watchers;
    // A wrapper, so that the same listener watching twice is two watchers.
    const watcher = (name: string): void => onRelease(name);
    watchers.add(watcher);
    return () => watchers.delete(watcher);
  }

  /** Whether a write guarded by `guard` may apply now. */
  allows(ns: string, guard: LockGuard): boolean {
    const space = this.spaces.get(ns);
    const held = space === undefined ? undefined : this.live(space, guard.name, this.now());
    if (held === undefined) return false;
    if (guard.token !== "" && held.token !== guard.token) return false;
    return held.fencingToken >= guard.minFencingToken;
  }

  /** Drops expired locks, so that names nobody asks about again do not pile up. */
  sweep(): void {
    const now = this.now();
    for (const space of this.spaces.values()) {
      for (const slot of space.locks.values()) {
        if (slot.expiresAt <= now) space.locks.delete(slot.name);
      }
    }
  }

  private space(ns: string): LockSpace {
    let space = this.spaces.get(ns);
    if (space === undefined) {
      space = { locks: new Map(), seq: 0, created: 0, watchers: new Set() };
      this.spaces.set(ns, space);
    }
    return space;
  }

  /** The live grant of a name, dropping an expired one first. */
  private live(space: LockSpace, name: string, now: number): LockSlot | undefined {
    const slot = space.locks.get(name);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= now) {
      space.locks.delete(name);
      return undefined;
    }
    return slot;
  }
}

function holderOf(slot: LockSlot, now: number): LockHolder {
  return {
    owner: slot.owner,
    expiresAt: slot.expiresAt,
    fencingToken: slot.fencingToken,
    remainingMs: slot.expiresAt - now,
  };
}

/**
 * Parses the memory store's cursors (Keys and ListLocks): the last position
 * handed out, or "" for the first page.
 */
export function parsePositionCursor(cursor: string): number {
  if (cursor === "") return 0;
  const n = Number(cursor);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new LarderError("invalidArgument", "cursor: malformed; pass the next_cursor of the previous page");
  }
  return n;
}
