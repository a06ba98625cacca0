import { parseArgs } from "node:util";
import { hashApiKey } from "../transport/auth.js";
import { runClientVerb, clientVerbs } from "./verbs.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "../core/logger.js";
import { createLarderServer } from "./server.js";
import { openStore } from "./open-store.js";
import { isWorker, runPrimary } from "./workers.js";

const usage = `larder: a shared key-value cache for function runtimes

Usage:
  larder serve [--workers N]        start the server (configured by LARDER_* env and LARDER_CONFIG);
                                    --workers N (LARDER_WORKERS) runs N processes on the port (redis store)
  larder hash-key <api key>         print the sha256 to put in the apiKeys configuration
  larder get <key>                  print a value
  larder set <key> <json> [--ttl s] write a JSON value (--ttl in seconds, --no-expiry)
  larder del <key>...               delete keys
  larder keys [pattern]             list keys (glob)
  larder locks [pattern]            list live locks

Client options: --url (LARDER_URL, default http://127.0.0.1:8080; https:// for TLS),
  --namespace (LARDER_NAMESPACE), --api-key (LARDER_API_KEY),
  --ca <pem file> (LARDER_CA: trust this CA for https://), --cert/--key <pem files> (a client certificate, for mTLS)

With TLS on (LARDER_TLS_CERT, LARDER_TLS_KEY), SIGHUP re-reads the certificate files.`;

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === "serve") {
    const { values } = parseArgs({ args: rest, options: { workers: { type: "string" } } });
    return serve(values.workers);
  }
  if (verb === "hash-key") {
    const key = rest[0];
    if (key === undefined) {
      process.stderr.write("usage: larder hash-key <api key>\n");
      return 2;
    }
    process.stdout.write(hashApiKey(key) + "\n");
    return 0;
  }
  if (verb !== undefined && clientVerbs.includes(verb)) {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        namespace: { type: "string" },
        "api-key": { type: "string" },
        ttl: { type: "string" },
        "no-expiry": { type: "boolean" },
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
      },
    });
    return runClientVerb(verb, positionals, {
      url: values.url ?? process.env["LARDER_URL"] ?? "http://127.0.0.1:8080",
      namespace: values.namespace ?? process.env["LARDER_NAMESPACE"],
      apiKey: values["api-key"] ?? process.env["LARDER_API_KEY"],
      ttl: values.ttl,
      noExpiry: values["no-expiry"] ?? false,
      ca: values.ca ?? process.env["LARDER_CA"],
      cert: values.cert,
      key: values.key,
    });
  }
  process.stdout.write(usage + "\n");
  return verb === undefined || verb === "help" || verb === "--help" ? 0 : 2;
}

async function serve(workers: string | undefined): Promise<number> {
  const config = loadConfig(workers === undefined ? process.env : { ...process.env, LARDER_WORKERS: workers });
  const logger = createLogger({ level: config.logLevel });
  if (config.workers > 1 && !isWorker()) {
    return runPrimary({ workers: config.workers, logger, drainTimeoutMs: config.drainTimeoutMs, forwardSighup: config.tls !== undefined });
  }
  const store = openStore(config);
  const server = await createLarderServer({
    store,
    port: config.port,
    host: config.host,
    limits: config.limits,
    ttlPolicy: config.ttlPolicy,
    namespacePolicies: config.namespaces,
    apiKeys: config.apiKeys,
    drainTimeoutMs: config.drainTimeoutMs,
    metrics: config.metrics,
    commands: config.commands,
    dashboard: config.dashboard,
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    logger,
  });
  logger.info("larder listening", {
    port: server.port,
    host: config.host,
    store: store.kind,
    auth: config.apiKeys.length > 0,
    metricsPort: server.metricsPort,
    tls: config.tls !== undefined,
    mtls: config.tls?.clientCa !== undefined,
  });
  // SIGHUP ends a Node process by default; with TLS it re-reads the
  // certificate instead (without TLS there is nothing to re-read, and the
  // default stays).
  if (config.tls !== undefined) process.on("SIGHUP", () => void server.reloadTls());
  // Health pings the store from now on and logs when it cannot be reached.

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      logger.info("shutting down", { signal });
      server.close().then(
        () => {
          logger.info("stopped");
          resolve(0);
        },
        (err: unknown) => {
          logger.error("shutdown failed", { error: String(err) });
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`larder: configuration error: ${err.message}\n`);
    } else if (err instanceof Error && "code" in err && err.code === "EADDRINUSE") {
      process.stderr.write(`larder: ${err.message}; set LARDER_PORT to another port\n`);
    } else {
      process.stderr.write(`larder: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);
