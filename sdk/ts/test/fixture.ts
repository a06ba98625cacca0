import { afterAll, beforeAll } from "vitest";
import { hashApiKey, type LarderServer } from "../../../server/index.js";
import { createCache, type Cache, type CacheOptions } from "../src/index.js";
import { freshNamespace, makeStore, startLarder, type StoreKind } from "../../../test/harness/larder.js";
import { startRedis, type RedisServer } from "../../../test/harness/redis-server.js";

/** The servers of an SDK suite, and caches that are closed after it. */
export interface SdkServers {
  /** The URL of the server without auth. */
  url(): string;
  /** The URL of a server on the same store with one API key, "secret-key", for namespace "keyed". */
  authUrl(): string;
  /** A cache on the server without auth, in a namespace of its own. */
  cache(options?: Partial<CacheOptions>): Cache;
  /** Closes these caches after the suite too. */
  track(...caches: Cache[]): void;
}

/**
 * Registers beforeAll/afterAll hooks that start a server without auth (and
 * with read tracking) and one with an API key on the same store (and, for Redis, a redis-server of
 * the suite's own).
 */
export function useSdkServers(kind: StoreKind): SdkServers {
  let server: LarderServer | undefined;
  let authServer: LarderServer | undefined;
  let redis: RedisServer | undefined;
  const opened: Cache[] = [];

  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    const apiKeys = [{ sha256: hashApiKey("secret-key"), namespace: "keyed" }];
    // Reads are tracked, so that last-read times reach the SDK's entries.
    server = await startLarder(makeStore(kind, redis?.url), { ttlPolicy: { trackReads: true } });
    authServer = await startLarder(makeStore(kind, redis?.url), { apiKeys });
  }, 30_000);

  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await server?.close();
    await authServer?.close();
    await redis?.stop();
  });

  const url = (): string => {
    if (server === undefined) throw new Error("server not started");
    return server.url;
  };
  return {
    url,
    authUrl() {
      if (authServer === undefined) throw new Error("server not started");
      return authServer.url;
    },
    cache(options = {}) {
      const c = createCache({ url: url(), namespace: freshNamespace("sdk"), ...options });
      opened.push(c);
      return c;
    },
    track(...caches) {
      opened.push(...caches);
    },
  };
}
