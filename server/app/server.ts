import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";
import { createAuthenticator, type ApiKeyConfig } from "../transport/auth.js";
import { createCallPipeline } from "../transport/call-pipeline.js";
import type { CommandsConfig } from "../commands/definitions.js";
import { createCommandRunner } from "../commands/setup.js";
import { connectAdminService, connectCacheService } from "../transport/connect/routes.js";
import { createConnectUnaryH1 } from "../transport/connect/unary-h1.js";
import { createGrpcFastPath } from "../transport/grpc/fast-path.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../gen/larder/v1/admin_pb.js";
import { CacheService } from "../gen/larder/v1/cache_pb.js";
import { withSpecGrpcMessage } from "../transport/grpc/message.js";
import { createHealth, type HealthMonitor } from "../ops/health.js";
import { createListener, type DualHandler, type Listener } from "../transport/listener.js";
import { TlsCredentials, type TlsFiles } from "../core/tls.js";
import { createLogger, type Logger } from "../core/logger.js";
import { createMetrics, type LarderMetrics, type MetricsSettings } from "../core/metrics.js";
import { createDashboardHandler, type DashboardOptions } from "../ops/dashboard.js";
import { createOpsHandler, serveMetrics, type MetricsServer } from "../ops/http.js";
import { createReflection } from "../ops/reflection.js";
import { AdminServiceHandler } from "../service/admin-service.js";
import { CacheServiceHandler, type CacheServiceOptions } from "../service/cache-service.js";
import { StatsSampler } from "../service/stats.js";
import { defaultLimits } from "../core/limits.js";
import { instrumentStore } from "../store/instrumented.js";
import type { Store } from "../store/store.js";

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
  /** Prometheus metrics. Default: enabled, at /metrics on the main port. */
  metrics?: MetricsSettings;
  /** How often health pings the store, in ms. Default 1000. */
  healthPollIntervalMs?: number;
  /** RunCommand definitions (the config file's `commands`); ignored when `commandRunner` is given. */
  commands?: CommandsConfig;
  /**
   * Serve Connect unary calls over HTTP/1.1 with the lean handler of
   * transport/connect/unary-h1.ts; false sends them through connect-node like
   * every other request, e.g. to compare the two. Default true.
   */
  connectUnaryFastPath?: boolean;
  /** The web dashboard at /dashboard. Default `{ enabled: true }`, with the assets `npm run build` made. */
  dashboard?: DashboardOptions & { enabled?: boolean };
  /**
   * Serve TLS on the port (and on the metrics port): ALPN picks HTTP/2 or
   * HTTP/1.1, cleartext is refused, and the files are re-read when they
   * change. Default unset: cleartext.
   */
  tls?: LarderTlsOptions;
}

/** The server's TLS: PEM file paths, and how often they are checked for changes. */
export interface LarderTlsOptions extends TlsFiles {
  /** How often the files are checked for a new certificate, in ms; 0 only reloads on {@link LarderServer.reloadTls}. Default 1000. */
  pollIntervalMs?: number;
}

/** A running Larder server. */
export interface LarderServer {
  /** The bound port. */
  readonly port: number;
  /** `http://127.0.0.1:<port>` (`https://` with TLS), for clients on the same machine. */
  readonly url: string;
  /** The service logic, for embedding and tests. */
  readonly service: CacheServiceHandler;
  /** The health status that `grpc.health.v1.Health` and `/readyz` report. */
  readonly health: HealthMonitor;
  /** The server's metrics; undefined when disabled. */
  readonly metrics: LarderMetrics | undefined;
  /** The port of the separate metrics server; undefined when metrics use the main port or are off. */
  readonly metricsPort: number | undefined;
  /**
   * Re-reads the TLS files now (what SIGHUP does); new connections get the
   * new certificate, open ones keep theirs. False when there is no TLS or
   * the files are not usable (the current certificate then stays).
   */
  reloadTls(): boolean;
  /**
   * Turns health NOT_SERVING, drains calls in flight, closes the port(s),
   * then closes the store.
   */
  close(): Promise<void>;
}

/**
 * Starts Larder: gRPC, gRPC-Web and Connect (HTTP/2 and HTTP/1.1) for
 * `larder.v1.CacheService`, `grpc.health.v1.Health` and gRPC server
 * reflection, plus `/healthz`, `/readyz` and `/metrics`, all on one
 * port, in cleartext or over TLS.
 */
export async function createLarderServer(options: LarderServerOptions): Promise<LarderServer> {
  const logger = options.logger ?? createLogger();
  const metricsSettings = options.metrics ?? {};
  const metrics = (metricsSettings.enabled ?? true) ? createMetrics() : undefined;
  // Everything but close() goes through the timed store, health pings too,
  // so that store errors during an outage show in the metrics.
  const store = metrics === undefined ? options.store : instrumentStore(options.store, metrics);
  const commandRunner =
    options.commandRunner ??
    createCommandRunner({
      commands: options.commands,
      store,
      logger,
      metrics,
      maxResponseBytes: options.limits?.maxCommandResponseBytes ?? defaultLimits.maxCommandResponseBytes,
    });
  const service = new CacheServiceHandler(store, {
    ...options,
    ...(metrics === undefined ? {} : { serviceMetrics: metrics }),
    commandRunner,
  });
  const health = createHealth({
    store,
    pollIntervalMs: options.healthPollIntervalMs ?? 1000,
    logger,
    onChange: (serving) => metrics?.setServing(serving),
  });
  // The dashboard's charts: a copy of the metric totals every few seconds.
  const stats = metrics === undefined ? undefined : new StatsSampler({ snapshot: () => metrics.snapshot(), buckets: metrics.latencyBuckets });
  stats?.start();
  const reflection = createReflection({ services: [CacheService, AdminService, Health] });
  const separateMetrics = metrics !== undefined && metricsSettings.port !== undefined;
  const auth = createAuthenticator({
    apiKeys: options.apiKeys ?? [],
    maxNamespaceBytes: service.limits.maxNamespaceBytes,
  });
  const pipeline = createCallPipeline(auth, logger, metrics);
  const admin = new AdminServiceHandler({ store, health, authEnabled: auth.enabled, stats, commandRunner });
  const dashboard = options.dashboard?.enabled === false ? undefined : createDashboardHandler(options.dashboard);
  const maxRequestBytes = options.maxRequestBytes ?? 64 * 1024 * 1024;
  const handler = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      router.service(CacheService, connectCacheService(service));
      router.service(AdminService, connectAdminService(admin));
      router.service(Health, health.service);
      reflection.register(router);
    },
    interceptors: [pipeline.interceptor],
    requestGate: pipeline.requestGate,
    readMaxBytes: maxRequestBytes,
    fallback: createOpsHandler({
      health,
      metrics: separateMetrics ? undefined : metrics,
      metricsPath: metricsSettings.path ?? "/metrics",
      dashboard,
    }),
  });
  const host = options.host ?? "0.0.0.0";
  let listener: Listener | undefined;
  let metricsServer: MetricsServer | undefined;
  let credentials: TlsCredentials | undefined;
  try {
    if (options.tls !== undefined) {
      const { pollIntervalMs, ...files } = options.tls;
      credentials = new TlsCredentials({ files, logger, ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) });
    }
    const tls =
      credentials === undefined
        ? undefined
        : {
            context: credentials.context,
            // A scanner, a client that does not trust the certificate or
            // one without its client certificate: one line each, never more.
            onHandshakeError: (err: Error, remote: string | undefined) =>
              logger.warn(handshakeMessage(err), { remote, error: (err as NodeJS.ErrnoException).code ?? err.message }),
          };
    listener = await createListener(withSpecGrpcMessage(handler as DualHandler), {
      port: options.port ?? 8080,
      host,
      drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
      h2Streams: createGrpcFastPath({ service, pipeline, maxRequestBytes }),
      ...(options.connectUnaryFastPath === false ? {} : { h1Requests: createConnectUnaryH1({ service, pipeline, maxRequestBytes }) }),
      ...(tls === undefined ? {} : { tls }),
    });
    if (separateMetrics && metricsSettings.port !== undefined) {
      metricsServer = await serveMetrics(metrics, {
        port: metricsSettings.port,
        host,
        path: metricsSettings.path ?? "/metrics",
        ...(tls === undefined ? {} : { tls }),
      });
    }
  } catch (err) {
    health.stop();
    stats?.stop();
    credentials?.close();
    await listener?.close();
    throw err;
  }
  const metricsOut = metricsServer;
  credentials?.onChange((ctx) => {
    listener?.setSecureContext(ctx);
    metricsOut?.setSecureContext(ctx);
  });
  const main = listener;
  let closing: Promise<void> | undefined;
  return {
    port: main.port,
    url: `${main.secure ? "https" : "http"}://127.0.0.1:${main.port}`,
    service,
    health,
    metrics,
    metricsPort: metricsServer?.port,
    reloadTls() {
      return credentials?.reload("reload requested") ?? false;
    },
    close() {
      closing ??= (async () => {
        // Readiness drops before the drain starts, so that balancers and
        // Watch clients stop sending new work while calls in flight finish.
        health.beginShutdown();
        await main.close();
        health.stop();
        stats?.stop();
        credentials?.close();
        await metricsServer?.close();
        await options.store.close();
      })();
      return closing;
    },
  };
}

/** The log line of a failed TLS handshake, worded for the usual causes. */
function handshakeMessage(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (code === "ERR_SSL_HTTP_REQUEST" || code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_UNSUPPORTED_PROTOCOL") {
    return "cleartext connection refused: this port serves TLS";
  }
  if (code.includes("ALERT")) return "TLS handshake failed: the client refused it (does it trust this certificate's CA?)";
  if (code.includes("CERTIFICATE")) return "TLS handshake failed: client certificate missing or not trusted";
  return "TLS handshake failed";
}
