/**
 * Baseline: ioredis talking straight to redis-server, GET or MGET(100) of the
 * same values with the same concurrency, from the load generator process.
 * This is the floor for Larder on the Redis store: every Larder call is one
 * Redis round trip plus Larder's own work, so Larder can approach but never
 * beat it.
 */
import { Redis } from "ioredis";
import type { OpenDriver } from "../load/driver.js";
import { counterKey, getManyKeys, hitKey, jsonValueText, missKey, setKey, ttlMs, type Op } from "../payloads.js";

/** Opens one ioredis client per connection and writes the values the op reads. */
export const openIoredis: OpenDriver = async (config) => {
  const clients = Array.from({ length: config.connections }, () => new Redis(config.url, { lazyConnect: true }));
  await Promise.all(clients.map((c) => c.connect()));
  const first = clients[0];
  if (first === undefined) throw new Error("ioredis driver needs at least one connection");
  const value = jsonValueText(config.valueBytes);
  const keys = config.op === "get-hit" ? [hitKey(config.valueBytes)] : config.op === "get-many" ? getManyKeys(config.valueBytes) : [];
  if (keys.length > 0) await first.mset(...keys.flatMap((k) => [k, value]));
  await first.del(missKey);
  const call = redisCall(config.op, config.valueBytes, value);
  return {
    call: (loop) => call(clients[loop % clients.length] as Redis),
    close: async () => {
      await Promise.all(clients.map((c) => c.quit()));
    },
  };
};

function redisCall(op: Op, valueBytes: number, value: string): (redis: Redis) => Promise<void> {
  switch (op) {
    case "get-hit": {
      const key = hitKey(valueBytes);
      return async (redis) => {
        if ((await redis.getBuffer(key)) === null) throw new Error("GET answered nil where a value was primed");
      };
    }
    case "get-miss":
      return async (redis) => {
        await redis.getBuffer(missKey);
      };
    case "set": {
      const key = setKey(valueBytes);
      return async (redis) => {
        await redis.set(key, value, "PX", ttlMs);
      };
    }
    case "get-many": {
      const keys = getManyKeys(valueBytes);
      return async (redis) => {
        const values = await redis.mgetBuffer(...keys);
        if (values.some((v) => v === null)) throw new Error("MGET answered nil where values were primed");
      };
    }
    case "increment":
      return async (redis) => {
        await redis.incr(counterKey);
      };
  }
}
