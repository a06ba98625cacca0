import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createRedisStore, type Expiry, type StoredValue } from "../../server/index.js";
import { startRedis } from "../harness/redis-server.js";

const json = (text: string): StoredValue => ({ kind: "json", json: text });
const ttl = (ttlMs: number): Expiry => ({ ttlMs });

describe("redis store: reads that never write", () => {
  it("appends nothing to the AOF for 10,000 Gets, GetMany and Has without touch or tracking", async () => {
    const dir = mkdtempSync(join(tmpdir(), "larder-aof-"));
    const aofServer = await startRedis(["--appendonly", "yes", "--appendfsync", "always", "--dir", dir]);
    const s = createRedisStore({ url: aofServer.url });
    const admin = new Redis(aofServer.url);
    const aofBytes = async (): Promise<number> => Number(/aof_current_size:(\d+)/.exec(await admin.info("persistence"))?.[1] ?? NaN);
    try {
      const ns = "reads";
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      await s.setMany(ns, keys.map((key) => ({ key, value: json('"v"'), expiry: ttl(600_000) })));
      const before = await aofBytes();
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < 10_000; i += 100) {
        await Promise.all(keys.map((key) => s.get(ns, key)));
      }
      await s.getMany(ns, keys);
      await s.has(ns, "k1");
      expect(await aofBytes()).toBe(before);
      // Tracking writes, but at most once a second per key: 100 keys read
      // 1,000 times each write 100 read times, not 100,000.
      for (let i = 0; i < 10; i++) await s.getMany(ns, keys, true);
      const tracked = (await aofBytes()) - before;
      expect(tracked).toBeGreaterThan(0);
      expect(tracked).toBeLessThan(200 * 100);
    } finally {
      admin.disconnect();
      await s.close();
      await aofServer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
