/**
 * The dashboard's way to Larder: the generated clients of the public API
 * over the Connect protocol, same origin. Every call is a POST with a
 * Connect Content-Type, which a cross-site form or a simple request cannot
 * send, and carries the namespace header or the API key typed in, which
 * lives in memory (or, when asked, in this tab's sessionStorage), never in
 * a cookie.
 */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../../server/gen/larder/v1/admin_pb.js";
import { CacheService } from "../../server/gen/larder/v1/cache_pb.js";

/** Who the dashboard calls as. */
export interface Credentials {
  /** The `larder-namespace` header, sent only without an API key (the key implies its namespace). */
  readonly namespace: string;
  /** An API key; "" for none. */
  readonly apiKey: string;
}

/** The two services' clients, for one set of credentials. */
export interface Api {
  readonly cache: Client<typeof CacheService>;
  readonly admin: Client<typeof AdminService>;
}

const keyStorage = "larder.dashboard.apiKey";

/** Creates the clients; each call reads the credentials current at that moment. */
export function createApi(credentials: () => Credentials): Api {
  const headers: Interceptor = (next) => (req) => {
    const c = credentials();
    if (c.apiKey !== "") req.header.set("authorization", `Bearer ${c.apiKey}`);
    else if (c.namespace !== "") req.header.set("larder-namespace", c.namespace);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    interceptors: [headers],
    // Calls of a view that is left are not worth waiting for.
    defaultTimeoutMs: 10_000,
  });
  return { cache: createClient(CacheService, transport), admin: createClient(AdminService, transport) };
}

/** The API key this tab remembered, if it was asked to. */
export function rememberedApiKey(): string {
  try {
    return window.sessionStorage.getItem(keyStorage) ?? "";
  } catch {
    return "";
  }
}

/** Remembers the key for this tab only (sessionStorage), or forgets it. */
export function rememberApiKey(key: string | undefined): void {
  try {
    if (key === undefined || key === "") window.sessionStorage.removeItem(keyStorage);
    else window.sessionStorage.setItem(keyStorage, key);
  } catch {
    // Storage can be off (private mode): the key then lives in memory only.
  }
}

/** A short message for an error of a call, naming the code. */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  const code = Code[e.code]
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toUpperCase();
  return `${code}: ${e.rawMessage}`;
}
