/**
 * Keys pages over a Redis whose whole keyspace fits one SCAN batch (a
 * Cluster master holding few keys is one): a page smaller than that batch
 * must still walk it, not end the listing empty.
 */

import { afterAll, beforeAll, expect, it } from "vitest";
import { createRedisStore, type Store } from "../../server/index.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

let server: RedisServer;
let store: Store;

beforeAll(async () => {
  server = await startRedis();
  store = createRedisStore({ url: server.url });
});

afterAll(async () => {
  await store.close();
  await server.stop();
});

it("lists every key of a tiny keyspace in pages smaller than it", async () => {
  for (let i = 0; i < 11; i++) {
    await store.set("small", { key: `k${i}`, value: { kind: "json", json: "1" }, expiry: { ttlMs: 60_000 }, condition: { mode: "always" } });
  }
  for (const limit of [1, 2, 7]) {
    const seen = new Set<string>();
    let cursor = "";
    for (let pages = 0; pages < 100; pages++) {
      const page = await store.keys("small", "*", cursor, limit);
      expect(page.keys.length).toBeLessThanOrEqual(limit);
      for (const key of page.keys) seen.add(key);
      cursor = page.nextCursor;
      if (cursor === "") break;
    }
    expect(seen.size, `pages of ${limit}`).toBe(11);
  }
});
