/**
 * The store's connection decides per call whether to auto-pipeline: a lone
 * call is written at once, and a call made while many others wait joins a
 * pipeline (see RedisConnection.run for the figures).
 */
import { describe, expect, it } from "vitest";
import { RedisConnection } from "../../server/store/redis/connection.js";
import { startRedis } from "../harness/redis-server.js";

describe("redis connection: auto-pipelining by load", () => {
  it("writes a lone call at once and pipelines calls that overlap many others", async () => {
    const redis = await startRedis();
    const conn = new RedisConnection({ url: redis.url }, []);
    try {
      await conn.run(() => conn.client.set("k", "v"));
      const lone = conn.run(() => conn.client.get("k"));
      expect(conn.client.autoPipelineQueueSize).toBe(0);
      expect(await lone).toBe("v");

      const burst = Array.from({ length: 40 }, () => conn.run(() => conn.client.get("k")));
      // The first 16 went out one by one; the rest wait for one write.
      expect(conn.client.autoPipelineQueueSize).toBe(24);
      expect(await Promise.all(burst)).toEqual(Array.from({ length: 40 }, () => "v"));
      expect(conn.client.autoPipelineQueueSize).toBe(0);
    } finally {
      await conn.close();
      await redis.stop();
    }
  });
});
