import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";
import { createAuthenticator, type ApiKeyConfig } from "./auth.js";
import { createCallPipeline } from "./call-pipeline.js";
import { CacheService } from "./gen/larder/v1/cache_pb.js";
import { withSpecGrpcMessage } from "./grpc-message.js";
import { createListener, type DualHandler } from "./listener.js";
import { createLogger, type Logger } from "./logger.js";
import { CacheServiceHandler, type CacheServiceOptions } from "./service.js";
import type { Store } from "./store/store.js";

/** Options of {@link createLarderServer}. */
export interface LarderServerOptions extends CacheServiceOptions {
  /** Where the data lives. Required. */
  store: Store;
  /** The port; 0 picks a free one. Default 8080. */
  port?: number;
  /** The bind address. Default "0.0.0.0". */
  host?: string;
  /** API keys; auth is on when there is at least one. Default none. */
  apiKeys?: readonly ApiKeyConfig[];
  /** Largest request message, in bytes. Default 64 MiB. */
  maxRequestBytes?: number;
  /** How long shutdown waits for calls in flight, in ms. Default 10 000. */
  drainTimeoutMs?: number;
  /** The logger. Default: JSON lines on stdout at "info". */
  logger?: Logger;
}

/** A running Larder server. */
export interface LarderServer {
  /** The bound port. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for clients on the same machine. */
  readonly url: string;
  /** The service logic, for embedding and tests. */
  readonly service: CacheServiceHandler;
  /** Drains calls in flight, closes the port, then closes the store. */
  close(): Promise<void>;
}

/**
 * Starts Larder: gRPC, gRPC-Web and Connect (HTTP/2 and HTTP/1.1) for
 * `larder.v1.CacheService`, all on one cleartext port.
 */
export async function createLarderServer(options: LarderServerOptions): Promise<LarderServer> {
  const logger = options.logger ?? createLogger();
  const service = new CacheServiceHandler(options.store, options);
  const auth = createAuthenticator({
    apiKeys: options.apiKeys ?? [],
    maxNamespaceBytes: service.limits.maxNamespaceBytes,
  });
  const pipeline = createCallPipeline(auth, logger);
  const handler = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      router.service(CacheService, service);
    },
    interceptors: [pipeline.interceptor],
    requestGate: pipeline.requestGate,
    readMaxBytes: options.maxRequestBytes ?? 64 * 1024 * 1024,
  });
  const listener = await createListener(withSpecGrpcMessage(handler as DualHandler), {
    port: options.port ?? 8080,
    host: options.host ?? "0.0.0.0",
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
  });
  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}`,
    service,
    close() {
      closing ??= (async () => {
        await listener.close();
        await options.store.close();
      })();
      return closing;
    },
  };
}
