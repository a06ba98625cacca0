import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { ServerTlsContext } from "../core/tls.js";
import type { LarderMetrics } from "../core/metrics.js";
import type { DashboardHandler, DashboardRequest } from "./dashboard.js";

/** The plain-HTTP health paths: what probes (Kubernetes, Docker HEALTHCHECK) ask. */
export const healthPaths = {
  /** Liveness: 200 while the process serves HTTP, store or not. */
  liveness: "/healthz",
  /** Readiness: 200 while SERVING, else 503. */
  readiness: "/readyz",
} as const;

/** Options of {@link createOpsHandler}. */
export interface OpsHandlerOptions {
  /** Whether the server is SERVING; `/readyz` answers from it. Required. */
  health: { readonly serving: boolean };
  /** Metrics to serve at `metricsPath`. Default none (that path answers 404). */
  metrics?: LarderMetrics | undefined;
  /** Where metrics are served. Default "/metrics". */
  metricsPath?: string;
  /** Serves /dashboard; default none (404). */
  dashboard?: DashboardHandler | undefined;
}

/**
 * A plain-HTTP handler for either protocol. Typed by the little it reads, so
 * that it fits both Node's handlers and the Connect adapter's fallback.
 */
export type OpsHandler = (req: DashboardRequest, res: object) => void;

/** The subset of both response APIs (HTTP/1.1 and HTTP/2 compat) used here. */
interface PlainResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string): unknown;
}

/**
 * Answers the plain-HTTP paths next to the RPCs, over HTTP/1.1 and HTTP/2:
 * `/healthz` (liveness: 200 while the process runs), `/readyz` (readiness:
 * 200 while SERVING, else 503), metrics, the dashboard, and 404 for anything else. Mounted
 * as the Connect adapter's fallback, so RPC paths never reach it.
 */
export function createOpsHandler(options: OpsHandlerOptions): OpsHandler {
  const metricsPath = options.metricsPath ?? "/metrics";
  const { health, metrics } = options;
  return (req, res) => {
    if (options.dashboard?.(req, res) === true) return;
    const out = res as unknown as PlainResponse;
    const path = (req.url ?? "").split("?", 1)[0];
    const known = path === healthPaths.liveness || path === healthPaths.readiness || (metrics !== undefined && path === metricsPath);
    if (!known) {
      out.writeHead(404, {});
      out.end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      out.writeHead(405, { allow: "GET, HEAD" });
      out.end();
      return;
    }
    const head = req.method === "HEAD";
    if (path === healthPaths.liveness) {
      send(out, 200, "ok\n", head);
    } else if (path === healthPaths.readiness) {
      send(out, health.serving ? 200 : 503, health.serving ? "SERVING\n" : "NOT_SERVING\n", head);
    } else if (metrics !== undefined) {
      sendMetrics(out, metrics, head);
    }
  };
}

/** Options of {@link serveMetrics}. */
export interface MetricsServerOptions {
  /** The port; 0 picks a free one. Required. */
  port: number;
  /** The bind address. Default "0.0.0.0". */
  host?: string;
  /** Where metrics are served. Default "/metrics". */
  path?: string;
  /** Serve HTTPS with these credentials, as the main port does. Default unset: plain HTTP. */
  tls?: { context: ServerTlsContext; onHandshakeError?: (err: Error, remote: string | undefined) => void };
}

/** An HTTP server that serves only metrics. */
export interface MetricsServer {
  /** The bound port. */
  readonly port: number;
  /** Replaces the TLS credentials for new connections; does nothing without TLS. */
  setSecureContext(ctx: ServerTlsContext): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves metrics on a port of their own (HTTP/1.1, which is what Prometheus
 * scrapes with), so that they can stay off the port clients can reach.
 */
export async function serveMetrics(metrics: LarderMetrics, options: MetricsServerOptions): Promise<MetricsServer> {
  const path = options.path ?? "/metrics";
  const onRequest: http.RequestListener = (req, res) => {
    const out = res as unknown as PlainResponse;
    if ((req.url ?? "").split("?", 1)[0] !== path) {
      out.writeHead(404, {});
      out.end();
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      out.writeHead(405, { allow: "GET, HEAD" });
      out.end();
    } else {
      sendMetrics(out, metrics, req.method === "HEAD");
    }
  };
  const tls = options.tls;
  const secure = tls === undefined ? undefined : https.createServer({ ...tls.context, handshakeTimeout: 10_000 }, onRequest);
  if (secure !== undefined) {
    secure.on("tlsClientError", (err: Error, socket: { remoteAddress?: string | undefined; destroy(): void }) => {
      const remote = socket.remoteAddress;
      socket.destroy();
      tls?.onHandshakeError?.(err, remote);
    });
  }
  const server: http.Server = secure ?? http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setSecureContext(ctx) {
      secure?.setSecureContext(ctx);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: PlainResponse, status: number, body: string, head: boolean): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(head ? undefined : body);
}

function sendMetrics(res: PlainResponse, metrics: LarderMetrics, head: boolean): void {
  metrics.render().then(
    (text) => {
      res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
      res.end(head ? undefined : text);
    },
    // A collector failing is a bug; the scraper sees a failed scrape, and no
    // internal detail.
    () => send(res, 500, "internal error\n", head),
  );
}
