import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import type { Client } from "@connectrpc/connect";
import type { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { createRedisStore, type LarderServer } from "../../server/index.js";
import { json, sleep } from "../harness/fixture.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

/** Calls per command from INFO commandstats, e.g. `{ evalsha: 12, hmget: 12 }`. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info("commandstats");
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1] as string, Number(m[2]));
  return out;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0) out.set(cmd, d);
  }
  return out;
}

describe("redis locks: layout, announcements and load", () => {
  let redis: RedisServer | undefined;
  let admin: Redis | undefined;
  let a: LarderServer | undefined;
  let b: LarderServer | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    // Two servers on one Redis, as behind a load balancer.
    a = await startLarder(createRedisStore({ url: redis.url, keyPrefix: "lt" }));
    b = await startLarder(createRedisStore({ url: redis.url, keyPrefix: "lt" }));
  }, 30_000);
  afterAll(async () => {
    admin?.disconnect();
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  function clients(): [Client<typeof CacheService>, Client<typeof CacheService>, string] {
    const namespace = freshNamespace();
    if (a === undefined || b === undefined) throw new Error("servers not started");
    return [cacheClient(a.url, { namespace }), cacheClient(b.url, { namespace }), namespace];
  }

  it("keeps a lock in one key that outlives its grant by the grace period, with no namespace counter", async () => {
    const [ca, , ns] = clients();
    const r = admin as Redis;
    const first = await ca.lock({ name: "job:1", ttlMs: 5000n, owner: "w" });
    const lockKey = `lt:{}:${Buffer.byteLength(ns)}:${ns}:l:job:1`;
    expect(await r.hgetall(lockKey)).toMatchObject({ o: "w", f: String(first.fencingToken) });
    // Fencing tokens are Redis-clock microseconds.
    expect(Math.abs(Number(first.fencingToken) / 1000 - Date.now())).toBeLessThan(5_000);
    const pttl = await r.pttl(lockKey);
    expect(pttl).toBeGreaterThan(60_000 + 4000);
    expect(pttl).toBeLessThanOrEqual(60_000 + 5000);
    // Released, the key stays for the grace period with the last token, so
    // that the next grant goes past it; nothing else of the namespace's
    // locks exists in Redis.
    await ca.unlock({ name: "job:1", token: first.token });
    expect(await r.hgetall(lockKey)).toEqual({ f: String(first.fencingToken), x: "0" });
    expect(await r.pttl(lockKey)).toBeLessThanOrEqual(60_000);
    expect((await ca.checkLock({ name: "job:1" })).available).toBe(true);
    const second = await ca.lock({ name: "job:1", ttlMs: 5000n });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    const all = await r.keys(`lt:*${ns}*`);
    expect(all).toEqual([lockKey]);
  });

  it("wakes a waiter on another server through pub/sub as soon as the lock is released", async () => {
    const [ca, cb] = clients();
    const held = await ca.lock({ name: "x" });
    setTimeout(() => void ca.unlock({ name: "x", token: held.token }), 300);
    const started = performance.now();
    const got = await cb.lock({ name: "x", waitMs: 10_000n });
    const waited = performance.now() - started;
    expect(got.acquired).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(250);
    // Far below the 10 s wait: woken by the release, with room for a loaded machine.
    expect(waited).toBeLessThan(2500);
  });

  it("bounds the Redis commands of a 2 s wait on a held lock", async () => {
    const [ca, cb] = clients();
    await ca.lock({ name: "busy", ttlMs: 30_000n });
    await cb.checkLock({ name: "warm-up" }); // scripts loaded, connections up
    const r = admin as Redis;
    const before = await commandStats(r);
    const started = performance.now();
    const got = await cb.lock({ name: "busy", waitMs: 2000n });
    const waited = performance.now() - started;
    const used = diff(await commandStats(r), before);
    used.delete("info");
    const attempts = (used.get("evalsha") ?? 0) + (used.get("eval") ?? 0);
    const total = [...used.values()].reduce((x, y) => x + y, 0);
    console.log(`2 s wait on a held lock: ${attempts} lock attempts, ${total} Redis commands in all`, Object.fromEntries(used));
    expect(got.acquired).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(1990);
    expect(waited).toBeLessThan(3000);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThan(30);
    expect(total).toBeLessThan(100);
  });

  it("still acquires when the subscriber connection was lost, by its bounded poll", async () => {
    const [ca, cb] = clients();
    const held = await ca.lock({ name: "y" });
    const waiting = cb.lock({ name: "y", waitMs: 10_000n });
    await sleep(200);
    // Drop every pub/sub connection; ioredis reconnects and re-subscribes,
    // but the release below may be published while nobody listens.
    await (admin as Redis).client("KILL", "TYPE", "pubsub");
    await ca.unlock({ name: "y", token: held.token });
    const started = performance.now();
    expect((await waiting).acquired).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("refuses a guarded Set whose lock another server re-granted after expiry", async () => {
    const [ca, cb] = clients();
    const stale = await ca.lock({ name: "z", ttlMs: 200n });
    const fresh = await cb.lock({ name: "z", waitMs: 5000n });
    expect(fresh.acquired).toBe(true);
    expect((await ca.set({ key: "k", value: json(1), lockGuard: { name: "z", token: stale.token } })).applied).toBe(false);
    expect((await cb.set({ key: "k", value: json(2), lockGuard: { name: "z", token: fresh.token } })).applied).toBe(true);
  });
});
