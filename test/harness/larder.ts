import { randomUUID } from "node:crypto";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { createLarderServer, createLogger, createMemoryStore, createRedisStore, type LarderServer, type LarderServerOptions, type RedisStoreOptions, type Store } from "../../server/index.js";

/** The stores that suites testing more than the store run against: memory and one redis-server. */
export const storeKinds = ["memory", "redis"] as const;

/**
 * Every store and Redis topology: the conformance suites run against all of
 * them to prove they behave the same. A Cluster or Sentinel set-up costs
 * seconds of start-up per test file, so only they use this list.
 */
export const conformanceKinds = ["memory", "redis", "redis-cluster", "redis-cluster-pinned", "redis-sentinel"] as const;

/** A store kind of {@link storeKinds}. */
export type StoreKind = (typeof storeKinds)[number];

/** A store kind of {@link conformanceKinds}: a {@link StoreKind} or a multi-process Redis topology. */
export type ConformanceKind = (typeof conformanceKinds)[number];

/**
 * Creates a store of a kind. A Redis kind needs where its Redis is: the URL
 * of the test's redis-server, or the options that reach a Cluster or Sentinel
 * set-up (see redis-topologies.ts). Every store gets a key prefix of its own.
 */
export function makeStore(kind: ConformanceKind, redis?: string | RedisStoreOptions): Store {
  if (kind === "memory") return createMemoryStore();
  if (redis === undefined) throw new Error(`${kind} store needs a redis URL or topology`);
  const target = typeof redis === "string" ? { url: redis } : redis;
  // "redis-cluster-pinned": the same Cluster, with every namespace in one slot.
  const placement = kind === "redis-cluster-pinned" ? { defaultPlacement: "pinned" as const } : {};
  return createRedisStore({ ...target, ...placement, keyPrefix: `larder-test-${randomUUID().slice(0, 8)}` });
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

/** What a client trusts and shows over TLS: PEM contents. */
export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Creates a transport to a server; `tls` applies to an https:// URL. */
export function transportFor(url: string, protocol: Protocol, interceptors: Interceptor[] = [], tls: ClientTls = {}): Transport {
  const nodeOptions = tls;
  switch (protocol) {
    case "grpc":
      return createGrpcTransport({ baseUrl: url, interceptors, nodeOptions });
    case "connect-h2":
      return createConnectTransport({ baseUrl: url, httpVersion: "2", interceptors, nodeOptions });
    case "connect-h1":
      return createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors, nodeOptions });
    case "grpc-web-h1":
      return createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors, nodeOptions });
  }
}

/** Options of {@link cacheClient}. */
export interface CacheClientOptions {
  /** The namespace header; "" sends none. */
  namespace?: string;
  apiKey?: string;
  protocol?: Protocol;
  /** The CA to trust and the client certificate, for an https:// server. */
  tls?: ClientTls;
}

/** A generated CacheService client that sends the namespace and API key headers. */
export function cacheClient(url: string, options: CacheClientOptions = {}): Client<typeof CacheService> {
  const headers: Interceptor = (next) => (req) => {
    if (options.namespace !== undefined && options.namespace !== "") req.header.set("larder-namespace", options.namespace);
    if (options.apiKey !== undefined) req.header.set("authorization", `Bearer ${options.apiKey}`);
    return next(req);
  };
  return createClient(CacheService, transportFor(url, options.protocol ?? "grpc", [headers], options.tls));
}

/** A namespace no other test uses. */
export function freshNamespace(prefix = "t"): string {
  return `${prefix}-${randomUUID()}`;
}
