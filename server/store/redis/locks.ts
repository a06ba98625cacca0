import { globToRegExp } from "../glob.js";
import type { lockScripts } from "./lock-scripts.js";
import type { ReleaseSubscriber } from "./lock-watch.js";
import { bytes, int, list, text, type Reply, type ScriptFn } from "./script.js";
import { scanPageArgs } from "./scan.js";
import type { ExtendLockOutcome, LockAttempt, LockGrant, LockHolder, LocksPage, UnlockOutcome } from "../store.js";

/** The functions that the lock scripts add to the client. */
export type LockScriptFns = Record<`${keyof typeof lockScripts}${"" | "Buffer"}`, ScriptFn>;

/** What the lock half of the Redis store borrows from the store. */
export interface RedisLockContext {
  /** The client, with {@link lockScripts} defined on it. */
  readonly scripts: LockScriptFns;
  /** Runs one call, turning connection trouble into `unavailable`. */
  run<T>(send: () => Promise<T>): Promise<T>;
  /** The namespace's key segment, with its Cluster hash tag. */
  tag(ns: string): string;
  /** The shared pub/sub connection for release announcements. */
  readonly subscriber: ReleaseSubscriber;
}

/**
 * The Store lock methods of the Redis store: one script each, every key of
 * a namespace's locks in the namespace's hash tag, so that a guarded Set can
 * read the lock in the same script (and slot) as the entry it writes.
 */
export class RedisLocks {
  /** @param ctx what is borrowed from the store. */
  constructor(private readonly ctx: RedisLockContext) {}

  /** The Redis key of a lock. */
  key(ns: string, name: string): string {
    return `${this.prefix(ns)}${name}`;
  }

  /** See `Store.lock`. */
  async lock(ns: string, name: string, grant: LockGrant): Promise<LockAttempt> {
    const [key, seq] = [this.key(ns, name), `${this.ctx.tag(ns)}:lseq`];
    const args = [grant.token, grant.owner, String(grant.ttlMs)];
    const reply = list(await this.ctx.run(() => this.ctx.scripts.larderLock(key, seq, ...args)));
    if (int(reply[0]) === 1) return { acquired: true, fencingToken: int(reply[1]), expiresAt: int(reply[2]) };
    return { acquired: false, holder: holderOf(reply.slice(1)) };
  }

  /** See `Store.unlock`. */
  async unlock(ns: string, name: string, token: string): Promise<UnlockOutcome> {
    const key = this.key(ns, name);
    const reply = await this.ctx.run(() => this.ctx.scripts.larderUnlock(key, token, this.channel(ns), name));
    return int(reply) === 1 ? "released" : int(reply) === 2 ? "notHeld" : "heldByOther";
  }

  /** See `Store.extendLock`. */
  async extendLock(ns: string, name: string, token: string, ttlMs: number): Promise<ExtendLockOutcome> {
    const key = this.key(ns, name);
    const reply = list(await this.ctx.run(() => this.ctx.scripts.larderExtendLock(key, token, String(ttlMs))));
    switch (int(reply[0])) {
      case 1:
        return { status: "extended", expiresAt: int(reply[1]) };
      case 2:
        return { status: "notHeld" };
      default:
        return { status: "heldByOther" };
    }
  }

  /** See `Store.checkLock`. */
  async checkLock(ns: string, name: string): Promise<LockHolder | undefined> {
    const reply = await this.ctx.run(() => this.ctx.scripts.larderCheckLock(this.key(ns, name)));
    return reply === null ? undefined : holderOf(list(reply));
  }

  /** See `Store.listLocks`; paged exactly like `Store.keys`. */
  async listLocks(ns: string, pattern: string, cursor: string, limit: number): Promise<LocksPage> {
    const prefix = this.prefix(ns);
    const args = scanPageArgs(prefix, pattern, cursor, limit);
    const seq = `${this.ctx.tag(ns)}:lseq`;
    const reply = list(await this.ctx.run(() => this.ctx.scripts.larderListLocksBuffer(seq, ...args)));
    // As in Keys: MATCH only narrowed by bytes; the glob decides by code point.
    const matcher = globToRegExp(pattern);
    const prefixBytes = Buffer.byteLength(prefix);
    const found = list(reply[1] ?? null);
    const seen = new Set<string>();
    const locks: LocksPage["locks"] = [];
    for (let i = 0; i + 4 < found.length; i += 5) {
      const name = bytes(found[i] ?? null).subarray(prefixBytes).toString("utf8");
      if (!matcher.test(name) || seen.has(name)) continue;
      seen.add(name);
      locks.push({ name, holder: holderOf(found.slice(i + 1, i + 5)) });
    }
    return { locks, nextCursor: text(reply[0] ?? null) };
  }

  /** See `Store.watchLocks`. */
  watch(ns: string, onRelease: (name: string) => void): Promise<() => void> {
    return this.ctx.subscriber.watch(this.channel(ns), onRelease);
  }

  private prefix(ns: string): string {
    return `${this.ctx.tag(ns)}:l:`;
  }

  /** Not a key, but named after the namespace's tag so it reads alike in MONITOR. */
  private channel(ns: string): string {
    return `${this.ctx.tag(ns)}:lr`;
  }
}

/** Decodes [owner, expiresAt, fencing token, remaining ms]. */
function holderOf(f: Reply[]): LockHolder {
  return {
    owner: text(f[0] ?? null),
    expiresAt: int(f[1]),
    fencingToken: int(f[2]),
    remainingMs: int(f[3]),
  };
}
