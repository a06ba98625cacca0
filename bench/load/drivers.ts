import { createCache, type Cache } from "../../sdk/ts/src/index.js";
import { counterKey, getManyKeys, hitKey, jsonValueText, missKey, setKey, ttlMs, type Op } from "../payloads.js";
import type { Driver, OpenDriver } from "./driver.js";

/**
 * The SDK-level driver: `@larder/sdk` over gRPC, as an application calls
 * Larder, one `createCache` (one HTTP/2 connection) per connection. What it
 * costs over the raw h2load figure for the same server is the price of the
 * SDK and of connect-node's client.
 */
export const openSdkGrpc: OpenDriver = async (config) => {
  const caches: Cache[] = Array.from({ length: config.connections }, () => createCache({ url: config.url, protocol: "grpc" }));
  const call = sdkCall(config.op, config.valueBytes);
  const driver: Driver = {
    call: (loop) => call(caches[loop % caches.length] as Cache),
    close: async () => {
      await Promise.all(caches.map((c) => c.close()));
    },
  };
  return driver;
};

function sdkCall(op: Op, valueBytes: number): (cache: Cache) => Promise<void> {
  const ttlSeconds = ttlMs / 1000;
  switch (op) {
    case "get-hit": {
      const key = hitKey(valueBytes);
      return async (cache) => {
        if ((await cache.get(key)) === null) throw new Error("Get answered a miss where a hit was primed");
      };
    }
    case "get-miss":
      return async (cache) => {
        if ((await cache.get(missKey)) !== null) throw new Error("Get answered a hit for a key never written");
      };
    case "set": {
      const key = setKey(valueBytes);
      // JSON-serialised by the SDK into exactly valueBytes bytes.
      const value = JSON.parse(jsonValueText(valueBytes)) as string;
      return async (cache) => {
        await cache.set(key, value, ttlSeconds);
      };
    }
    case "get-many": {
      const keys = getManyKeys(valueBytes);
      return async (cache) => {
        const found = await cache.getMany(keys);
        for (const value of found.values()) if (value === null) throw new Error("GetMany answered misses where hits were primed");
      };
    }
    case "increment":
      return async (cache) => {
        await cache.increment(counterKey, 1, ttlSeconds);
      };
  }
}
