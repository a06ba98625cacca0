import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { hashApiKey, type LarderServer } from "../../../server/index.js";
import { Code, createCache, LarderError, LockNotAcquiredError, type Cache, type CacheOptions } from "../src/index.js";
import { freshNamespace, makeStore, startLarder, storeKinds } from "../../../test/harness/larder.js";
import { startRedis, type RedisServer } from "../../../test/harness/redis-server.js";

describe.each(storeKinds)("@larder/sdk locks [%s store]", (kind) => {
  let server: LarderServer | undefined;
  let redis: RedisServer | undefined;
  const opened: Cache[] = [];

  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    server = await startLarder(makeStore(kind, redis?.url), {
      apiKeys: [
        { sha256: hashApiKey("rw-key"), namespace: "rw-only", permissions: ["read", "write"] },
        { sha256: hashApiKey("all-key"), namespace: "all" },
      ],
    });
  }, 30_000);
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await server?.close();
    await redis?.stop();
  });

  function cache(options: Partial<CacheOptions> = {}): Cache {
    if (server === undefined) throw new Error("server not started");
    const c = createCache({ url: server.url, apiKey: "all-key", ...options });
    opened.push(c);
    return c;
  }

  /** Caches of one namespace, each with its own connection and its own single-flight. */
  function caches(n: number): Cache[] {
    return Array.from({ length: n }, () => cache());
  }

  it("locks with await using and releases at the end of the block", async () => {
    const c = cache();
    const name = freshNamespace("lock");
    {
      await using lock = await c.lock(name, { ttl: 10, owner: "block" });
      expect(lock).toMatchObject({ name, acquired: true });
      expect(lock.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(lock.fencingToken).toBeGreaterThan(0);
      expect(lock.expiresAt.getTime()).toBeGreaterThan(Date.now() + 8000);
      expect(await c.checkLock(name)).toBe(false);
      const listed = await c.listLocks(name);
      expect(listed).toEqual([{ name, owner: "block", expiresAt: lock.expiresAt, fencingToken: lock.fencingToken }]);
    }
    expect(await c.checkLock(name)).toBe(true);
    expect(await c.listLocks(name)).toEqual([]);
  });

  it("throws LockNotAcquiredError (ABORTED) with the holder, or null from tryLock", async () => {
    const c = cache();
    const name = freshNamespace("lock");
    const held = await c.lock(name, { owner: "first" });
    expect(await c.tryLock(name)).toBeNull();
    const started = Date.now();
    const err = await c.lock(name, { wait: 0.3 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(err).toBeInstanceOf(LockNotAcquiredError);
    expect(err).toBeInstanceOf(LarderError);
    const e = err as LockNotAcquiredError;
    expect(e.code).toBe(Code.Aborted);
    expect(e.codeName).toBe("ABORTED");
    expect(e.holder).toMatchObject({ owner: "first", fencingToken: held.fencingToken });
    expect(e.message).toMatch(/was not acquired within the wait \(held by "first" until/);
    expect(await held.release()).toBe(true);
    expect(await held.release()).toBe(false);
  });

  it("waits for a release, longer than the call timeout if asked", async () => {
    const c = cache({ timeoutMs: 500 });
    const name = freshNamespace("lock");
    const held = await c.lock(name);
    setTimeout(() => void held.release(), 900);
    const got = await c.lock(name, { wait: 5 });
    expect(got.fencingToken).toBeGreaterThan(held.fencingToken);
    await got.release();
  });

  it("extends, and reports a lost lock through extend and signal", async () => {
    const c = cache();
    const name = freshNamespace("lock");
    const lock = await c.lock(name, { ttl: 0.3 });
    const later = await lock.extend(10);
    expect(later.getTime()).toBeGreaterThan(Date.now() + 8000);
    expect(lock.expiresAt).toEqual(later);
    await lock.extend(0.1);
    await sleep(200);
    const other = await c.lock(name);
    const err = await lock.extend().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LarderError);
    expect((err as LarderError).codeName).toBe("FAILED_PRECONDITION");
    expect((err as LarderError).message).toMatch(/no longer held by this handle: another holder has it/);
    expect(lock.signal.aborted).toBe(true);
    expect(await lock.release()).toBe(false);
    await other.release();
  });

  it("renews with autoRenew while held, and stops on release", async () => {
    const c = cache();
    const name = freshNamespace("lock");
    const lock = await c.lock(name, { ttl: 0.3, autoRenew: true });
    await sleep(800);
    expect(await c.checkLock(name)).toBe(false);
    expect(lock.signal.aborted).toBe(false);
    await lock.release();
    expect(await c.checkLock(name)).toBe(true);
  });

  it("guards a write with a lock handle", async () => {
    const c = cache();
    const name = freshNamespace("lock");
    const stale = await c.lock(name, { ttl: 0.2 });
    expect(await c.set("guarded", 1, { lock: stale })).toBe(true);
    const fresh = await c.lock(name, { wait: 2 });
    expect(await c.set("guarded", 2, { lock: stale })).toBe(false);
    expect(await c.set("guarded", 3, { lock: fresh })).toBe(true);
    expect(await c.get("guarded")).toBe(3);
    await fresh.release();
  });

  describe("stampede-safe get-or-compute", () => {
    it("computes once for 100 callers on 20 connections, all getting the same value", async () => {
      const all = caches(20);
      const key = freshNamespace("cold");
      let computed = 0;
      const getValue = async (): Promise<{ n: number; at: number }> => {
        computed++;
        await sleep(150);
        return { n: computed, at: Date.now() };
      };
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => all[i % 20]?.get(key, { ttl: 60, getValue })));
      expect(computed).toBe(1);
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
      expect(await all[0]?.listLocks("larder:compute:*")).toEqual([]);
    });

    it("lets a waiter take over when the computer fails", async () => {
      const [a, b] = caches(2) as [Cache, Cache];
      const key = freshNamespace("flaky");
      const failing = a.get(key, {
        getValue: async () => {
          await sleep(200);
          throw new Error("upstream down");
        },
      });
      await sleep(50);
      const succeeding = b.get(key, { getValue: () => "from b" });
      await expect(failing).rejects.toThrow(/upstream down/);
      expect(await succeeding).toBe("from b");
    });

    it("takes over from a computer that died, once its lock expires", async () => {
      const c = cache();
      const key = freshNamespace("orphan");
      // What a process that crashed inside getValue leaves behind: a compute
      // lock that nobody renews or releases.
      await c.lock(`larder:compute:${key}`, { ttl: 0.5 });
      const started = Date.now();
      expect(await c.get(key, { getValue: () => "recovered" })).toBe("recovered");
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it("fails with LockNotAcquiredError after lockWait, naming the key", async () => {
      const [a, b] = caches(2) as [Cache, Cache];
      const key = freshNamespace("slow");
      const slow = a.get(key, { getValue: () => sleep(1500).then(() => "slow") });
      await sleep(100);
      const started = Date.now();
      const err = await b.get(key, { getValue: () => "impatient", lockWait: 0.4 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1200);
      expect(err).toBeInstanceOf(LockNotAcquiredError);
      expect((err as LockNotAcquiredError).message).toMatch(/get: waited 0.4 s for another caller computing/);
      expect(await slow).toBe("slow");
      expect(await b.get(key, { getValue: () => "late" })).toBe("slow");
    });

    it("hashes long keys into the lock name", async () => {
      const c = cache();
      const key = "k".repeat(1000);
      expect(await c.get(key, { getValue: () => 42 })).toBe(42);
    });

    it("still computes for an API key without the lock permission", async () => {
      const c = cache({ apiKey: "rw-key" });
      const key = freshNamespace("rw");
      expect(await c.get(key, { getValue: () => "computed" })).toBe("computed");
      await expect(c.lock("x")).rejects.toMatchObject({ codeName: "PERMISSION_DENIED" });
    });
  });
});
