import { globToRegExp } from "../glob.js";
import { lockGraceMs, lockScripts } from "./lock-scripts.js";
import type { ReleaseSubscriber } from "./lock-watch.js";
import type { Durability } from "./durability.js";
import type { RedisKeys } from "./keys.js";
import { scanMasters, scanPageArgs } from "./scan.js";
import { bytes, evalOn, int, list, text, type Reply, type ScriptFn } from "./script.js";
import type { Topology } from "./topology.js";
import type { ExtendLockOutcome, LockAttempt, LockGrant, LockHolder, LocksPage, UnlockOutcome } from "../store.js";

/** The functions that the lock scripts add to the client. */
export type LockScriptFns = Record<`${keyof typeof lockScripts}${"" | "Buffer"}`, ScriptFn>;

/** What the lock half of the Redis store borrows from the store. */
export interface RedisLockContext {
  /** The client, with {@link lockScripts} defined on it. */
  readonly scripts: LockScriptFns;
  /** Runs one call, turning connection trouble into `unavailable`. */
  run<T>(send: () => Promise<T>): Promise<T>;
  /** Where the keys are. */
  readonly keys: RedisKeys;
  /** Which nodes to scan. */
  readonly topology: Topology;
  /** The shared pub/sub connection for release announcements. */
  readonly subscriber: ReleaseSubscriber;
  /** Waits for replicas when the store is configured to. */
  readonly durability: Durability;
}

/** The Store lock methods of the Redis store: one script each. */
export class RedisLocks {
  /** @param ctx what is borrowed from the store. */
  constructor(private readonly ctx: RedisLockContext) {}

  /** See `Store.lock`. */
  async lock(ns: string, name: string, grant: LockGrant): Promise<LockAttempt> {
    const key = this.ctx.keys.lockKey(ns, name);
    const args = [grant.token, grant.owner, String(grant.ttlMs), String(lockGraceMs)];
    const reply = list(await this.ctx.run(() => this.ctx.scripts.larderLock(key, ...args)));
    if (int(reply[0]) === 1) {
      await this.ctx.durability.confirm([key]);
      return { acquired: true, fencingToken: int(reply[1]), expiresAt: int(reply[2]) };
    }
    return { acquired: false, holder: holderOf(reply.slice(1)) };
  }

  /** See `Store.unlock`. */
  async unlock(ns: string, name: string, token: string): Promise<UnlockOutcome> {
    const { keys } = this.ctx;
    const args = [token, keys.releaseChannel(ns), name, String(lockGraceMs)];
    const reply = await this.ctx.run(() => this.ctx.scripts.larderUnlock(keys.lockKey(ns, name), ...args));
    return int(reply) === 1 ? "released" : int(reply) === 2 ? "notHeld" : "heldByOther";
  }

  /** See `Store.extendLock`. */
  async extendLock(ns: string, name: string, token: string, ttlMs: number): Promise<ExtendLockOutcome> {
    const key = this.ctx.keys.lockKey(ns, name);
    const reply = list(await this.ctx.run(() => this.ctx.scripts.larderExtendLock(key, token, String(ttlMs), String(lockGraceMs))));
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
    const reply = await this.ctx.run(() => this.ctx.scripts.larderCheckLock(this.ctx.keys.lockKey(ns, name)));
    return reply === null ? undefined : holderOf(list(reply));
  }

  /** See `Store.listLocks`; paged exactly like `Store.keys`, over every master. */
  async listLocks(ns: string, pattern: string, cursor: string, limit: number): Promise<LocksPage> {
    const prefix = this.ctx.keys.lockPrefix(ns);
    const page = await this.ctx.run(async () =>
      scanMasters(await this.ctx.topology.masters(), cursor, limit, async (node, inner, room) => {
        const reply = list(await evalOn(node, lockScripts.larderListLocks, scanPageArgs(prefix, pattern, inner, room)));
        const found = list(reply[1] ?? null);
        return { next: text(reply[0] ?? null), found, count: found.length / 5 };
      }),
    );
    // As in Keys: MATCH only narrowed by bytes; the glob decides by code point.
    const matcher = globToRegExp(pattern);
    const prefixBytes = Buffer.byteLength(prefix);
    const found = page.found;
    const seen = new Set<string>();
    const locks: LocksPage["locks"] = [];
    for (let i = 0; i + 4 < found.length; i += 5) {
      const name = bytes(found[i] ?? null).subarray(prefixBytes).toString("utf8");
      if (!matcher.test(name) || seen.has(name)) continue;
      seen.add(name);
      locks.push({ name, holder: holderOf(found.slice(i + 1, i + 5)) });
    }
    return { locks, nextCursor: page.next };
  }

  /** See `Store.watchLocks`. */
  watch(ns: string, onRelease: (name: string) => void): Promise<() => void> {
    return this.ctx.subscriber.watch(this.ctx.keys.releaseChannel(ns), onRelease);
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
