/**
 * waitForReplicas: a write is acknowledged only once a replica has it, and
 * fails as unavailable (not lost in silence) when no replica confirms it.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createRedisStore, LarderError, type Store } from "../../server/index.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

describe("redis store: waiting for replicas", () => {
  let master: RedisServer;
  let replica: RedisServer;
  let lonely: RedisServer;

  beforeAll(async () => {
    master = await startRedis();
    replica = await startRedis(["--replicaof", "127.0.0.1", String(master.port)]);
    lonely = await startRedis();
    const r = new Redis(replica.url);
    for (let i = 0; i < 100 && !/master_link_status:up/.test(await r.info("replication")); i++) await new Promise((ok) => setTimeout(ok, 50));
    r.disconnect();
  });

  afterAll(async () => {
    await replica?.stop();
    await master?.stop();
    await lonely?.stop();
  });

  const write = (store: Store, key: string): ReturnType<Store["set"]> =>
    store.set("durable", { key, value: { kind: "json", json: "1" }, expiry: { ttlMs: 60_000 }, condition: { mode: "always" } });

  it("acknowledges a write once the replica has it", async () => {
    const store = createRedisStore({ url: master.url, waitForReplicas: { replicas: 1, timeoutMs: 2000 } });
    try {
      expect((await write(store, "k")).applied).toBe(true);
      // Acknowledged means on the replica already, not soon.
      const r = new Redis(replica.url);
      expect(await r.exists("larder:{}:7:durable:e:k")).toBe(1);
      r.disconnect();
      expect((await store.setMany("durable", [{ key: "a", value: { kind: "json", json: "2" }, expiry: { ttlMs: 60_000 } }]))[0]?.created).toBe(true);
      expect((await store.lock("durable", "job", { token: "t", owner: "", ttlMs: 5000 })).acquired).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("fails as unavailable when no replica confirms in time", async () => {
    const store = createRedisStore({ url: lonely.url, waitForReplicas: { replicas: 1, timeoutMs: 100 } });
    try {
      const err = await write(store, "k").then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(LarderError);
      expect((err as LarderError).kind).toBe("unavailable");
      expect((err as LarderError).message).toMatch(/0 of 1 replica\(s\) confirmed it within 100 ms/);
    } finally {
      await store.close();
    }
  });
});
