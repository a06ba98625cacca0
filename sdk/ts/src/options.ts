import type { Transport } from "@connectrpc/connect";
import { invalidArgument } from "./errors.js";

/** Options of {@link createCache}. */
export interface CacheOptions {
  /** The Larder server, e.g. `"http://localhost:8080"`. Required. */
  url: string;
  /**
   * An API key, sent as `authorization: Bearer <key>`. Needed when the
   * server has auth on; the key then also decides the namespace.
   */
  apiKey?: string;
  /**
   * The namespace to act in, sent as the `larder-namespace` header. Only
   * honoured when the server has auth off; default `"default"`.
   */
  namespace?: string;
  /** Deadline of each call attempt, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /**
   * How many times a call that is safe to repeat is retried after the server
   * answered UNAVAILABLE (or could not be reached). Default 2.
   */
  retries?: number;
  /**
   * The wire protocol. `"grpc"` (default) is gRPC over HTTP/2. `"connect"`
   * is the Connect protocol over HTTP/1.1, for runtimes and proxies that
   * cannot speak HTTP/2.
   */
  protocol?: "grpc" | "connect";
  /**
   * TLS settings for an `https://` URL: a CA to trust (e.g. a private one)
   * and a client certificate for servers that require one (mTLS). Default:
   * the system roots, no client certificate.
   */
  tls?: TlsOptions;
  /**
   * A transport to use instead of the one built from `url` and `protocol`,
   * e.g. to add interceptors. The cache does not close it.
   */
  transport?: Transport;
}

/** TLS settings of {@link CacheOptions}: PEM contents, not file paths. */
export interface TlsOptions {
  /**
   * The CA certificate(s) to trust, instead of the system roots (as in
   * node:tls). Default: the system roots.
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** A client certificate (chain), for a server that requires one. Default none. */
  cert?: string | Buffer;
  /** The client certificate's private key. Required with `cert`. */
  key?: string | Buffer;
}

/** {@link CacheOptions} with every default applied and checked. */
export interface ResolvedOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly protocol: "grpc" | "connect";
  readonly transport: Transport | undefined;
  /** TLS settings for the built transports; empty without. */
  readonly tls: TlsOptions;
  /** The headers sent with every call. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The defaults of {@link CacheOptions}. */
export const defaultOptions = {
  timeoutMs: 5000,
  retries: 2,
  protocol: "grpc",
} as const;

/**
 * Applies defaults and rejects nonsense early, at construction, rather than
 * on the first call where the cause would be harder to see.
 *
 * @param options what the caller passed to createCache.
 */
export function resolveOptions(options: CacheOptions): ResolvedOptions {
  if (typeof options.url !== "string" || options.url === "") {
    throw invalidArgument("url", "is required, e.g. http://localhost:8080");
  }
  if (!URL.canParse(options.url) || !/^https?:$/.test(new URL(options.url).protocol)) {
    throw invalidArgument("url", `must be an http:// or https:// URL, got ${JSON.stringify(options.url)}`);
  }
  const timeoutMs = options.timeoutMs ?? defaultOptions.timeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument("timeoutMs", `must be a positive number, got ${timeoutMs}`);
  }
  const retries = options.retries ?? defaultOptions.retries;
  if (!Number.isInteger(retries) || retries < 0) {
    throw invalidArgument("retries", `must be a non-negative integer, got ${retries}`);
  }
  const protocol = options.protocol ?? defaultOptions.protocol;
  if (protocol !== "grpc" && protocol !== "connect") {
    throw invalidArgument("protocol", `must be "grpc" or "connect", got ${String(protocol)}`);
  }
  const tls = options.tls ?? {};
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidArgument(tls.cert === undefined ? "tls.cert" : "tls.key", `is required with tls.${tls.cert === undefined ? "key" : "cert"}`);
  }
  // Headers go on each call rather than into a transport interceptor, so
  // that they also reach a caller-supplied transport.
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined && options.apiKey !== "") {
    headers["authorization"] = `Bearer ${options.apiKey}`;
  }
  if (options.namespace !== undefined && options.namespace !== "") {
    headers["larder-namespace"] = options.namespace;
  }
  return {
    url: options.url,
    timeoutMs,
    retries,
    protocol,
    transport: options.transport,
    tls,
    headers,
  };
}
