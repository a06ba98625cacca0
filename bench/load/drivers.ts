import * as http from "node:http";
import { createCache, type Cache } from "../../sdk/ts/src/index.js";
import { counterKey, getManyKeys, hitKey, jsonValueText, manyKeys, missKey, requestFor, setKey, ttlMs, type Op } from "../payloads.js";
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

/**
 * The HTTP/1.1 driver: Connect unary JSON with node:http and a keep-alive
 * agent, one socket per loop since HTTP/1.1 has one request in flight per
 * connection. This is what `curl` or `fetch` from any runtime does.
 */
export const openConnectJsonH1: OpenDriver = async (config) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.inFlight, maxFreeSockets: config.inFlight });
  const request = requestFor(config.op, config.valueBytes);
  const body = Buffer.from(request.json);
  const url = new URL(request.path, config.url);
  const options: http.RequestOptions = {
    method: "POST",
    agent,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname,
    headers: { "content-type": "application/json", "content-length": String(body.length) },
  };
  const post = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = http.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200) resolve(text);
          else reject(new Error(`HTTP ${res.statusCode ?? 0}: ${text.slice(0, 200)}`));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  // Only the first answer is parsed and checked: parsing every one would
  // make the load generator, not the server, the bottleneck.
  const problem = checkJsonAnswer(config.op, JSON.parse(await post()) as Record<string, unknown>);
  if (problem !== undefined) throw new Error(`${request.path}: ${problem}`);
  return {
    call: async () => {
      await post();
    },
    close: async () => agent.destroy(),
  };
};

function checkJsonAnswer(op: Op, answer: Record<string, unknown>): string | undefined {
  switch (op) {
    case "get-hit":
      return answer["found"] === true ? undefined : "Get answered a miss where a hit was primed";
    case "get-miss":
      return answer["found"] === true ? "Get answered a hit for a key never written" : undefined;
    case "set":
      return answer["applied"] === true ? undefined : "Set was not applied";
    case "get-many": {
      const items = answer["items"];
      return Array.isArray(items) && items.length === manyKeys && items.every((i: { found?: unknown }) => i.found === true)
        ? undefined
        : "GetMany did not answer every primed key";
    }
    case "increment":
      return typeof answer["value"] === "string" ? undefined : "Increment answered no value";
  }
}
