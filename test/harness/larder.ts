import { randomUUID } from "node:crypto";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { createLarderServer, createLogger, createMemoryStore, createRedisStore, type LarderServer, type LarderServerOptions, type Store } from "../../server/index.js";

/** The stores every conformance suite runs against. */
export const storeKinds = ["memory", "redis"] as const;

/** A store kind. */
export type StoreKind = (typeof storeKinds)[number];

/** Creates a store of a kind; Redis needs the URL of the test's redis-server. */
export function makeStore(kind: StoreKind, redisUrl?: string): Store {
  if (kind === "memory") return createMemoryStore();
  if (redisUrl === undefined) throw new Error("redis store needs a redis URL");
  return createRedisStore({ url: redisUrl, keyPrefix: `larder-test-${randomUUID().slice(0, 8)}` });
}

/** Starts a Larder server on a free port with quiet logs. */
export async function startLarder(
  store: Store,
  options: Omit<LarderServerOptions, "store"> = {},
): Promise<LarderServer> {
  return createLarderServer({
    port: 0,
    host: "127.0.0.1",
    logger: createLogger({ level: (process.env["LARDER_TEST_LOG"] as "error" | undefined) ?? "silent" }),
    drainTimeoutMs: 1000,
    ...options,
    store,
  });
}

/** The client protocols a test can choose. */
export type Protocol = "grpc" | "connect-h2" | "connect-h1" | "grpc-web-h1";

/** Creates a transport to a server. */
export function transportFor(url: string, protocol: Protocol, interceptors: Interceptor[] = []): Transport {
  switch (protocol) {
    case "grpc":
      return createGrpcTransport({ baseUrl: url, interceptors });
    case "connect-h2":
      return createConnectTransport({ baseUrl: url, httpVersion: "2", interceptors });
    case "connect-h1":
      return createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
    case "grpc-web-h1":
      return createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
  }
}

/** Options of {@link cacheClient}. */
export interface CacheClientOptions {
  /** The namespace header; "" sends none. */
  namespace?: string;
  apiKey?: string;
  protocol?: Protocol;
}

/** A generated CacheService client that sends the namespace and API key headers. */
export function cacheClient(url: string, options: CacheClientOptions = {}): Client<typeof CacheService> {
  const headers: Interceptor = (next) => (req) => {
    if (options.namespace !== undefined && options.namespace !== "") req.header.set("larder-namespace", options.namespace);
    if (options.apiKey !== undefined) req.header.set("authorization", `Bearer ${options.apiKey}`);
    return next(req);
  };
  return createClient(CacheService, transportFor(url, options.protocol ?? "grpc", [headers]));
}

/** A namespace no other test uses. */
export function freshNamespace(prefix = "t"): string {
  return `${prefix}-${randomUUID()}`;
}
