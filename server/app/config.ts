import { readFileSync } from "node:fs";
import type { ApiKeyConfig, Permission } from "../transport/auth.js";
import { knownPermissions } from "../transport/auth.js";
import { CommandConfigError, parseCommands, type CommandsConfig } from "../commands/definitions.js";
import { defaultLimits, defaultNamespacePolicy, type Limits, type NamespacePolicy } from "../core/limits.js";
import { isLogLevel, type LogLevel } from "../core/logger.js";
import type { MetricsSettings } from "../core/metrics.js";
import type { MemoryStoreOptions } from "../store/memory/memory-store.js";
import type { Placement } from "../store/redis/keys.js";
import type { RedisStoreOptions } from "../store/redis/redis-store.js";
import { checkRedisTls, checkServerTls, TlsConfigError, type ServerTlsSettings } from "./tls-config.js";

/**
 * Larder's configuration: defaults, then the optional JSON file named by
 * LARDER_CONFIG, then environment variables. The defaults run with no
 * configuration at all: memory store, auth off, port 8080.
 */
export interface LarderConfig {
  /** Default 8080 (`LARDER_PORT`). */
  port: number;
  /** Default "0.0.0.0" (`LARDER_HOST`). */
  host: string;
  /** Default "memory"; "redis" when `REDIS_URL` is set (`LARDER_STORE`). */
  store: "memory" | "redis";
  /** Redis connection (`REDIS_URL` sets `url`). */
  redis: RedisStoreOptions;
  /** Memory store bounds. */
  memory: MemoryStoreOptions;
  /** Request limits; see {@link Limits}. */
  limits: Partial<Limits>;
  /** TTL policy of every namespace; see {@link NamespacePolicy}. */
  ttlPolicy: Partial<NamespacePolicy>;
  /** Per-namespace overrides of the policy, and the namespace's placement in a Redis Cluster. */
  namespaces: Record<string, NamespaceSettings>;
  /** API keys (hashed); auth is on when there is at least one. */
  apiKeys: ApiKeyConfig[];
  /**
   * A JSON file holding more API keys (an array like `apiKeys`), added to
   * them: keeps the keys in a secret (a Kubernetes Secret) apart from the
   * rest of the configuration. Default unset.
   */
  apiKeysFile: string | undefined;
  /** Default "info" (`LARDER_LOG_LEVEL`). */
  logLevel: LogLevel;
  /** How long shutdown drains calls in flight, in ms. Default 10 000. */
  drainTimeoutMs: number;
  /** Prometheus metrics. Default `{ enabled: true }`: /metrics on the main port (`LARDER_METRICS_PORT` sets `port`). */
  metrics: MetricsSettings;
  /**
   * Server processes on the one port (`LARDER_WORKERS`, `larder serve --workers N`).
   * Default 1. More than 1 needs the redis store: a memory store is per process.
   */
  workers: number;
  /** RunCommand definitions per namespace; see the README's Commands section. Default none. */
  commands: CommandsConfig;
  /** The web dashboard at /dashboard. Default `{ enabled: true }`. */
  dashboard: { enabled: boolean };
  /**
   * TLS on the port and the metrics port (`LARDER_TLS_CERT`, `LARDER_TLS_KEY`,
   * `LARDER_TLS_CLIENT_CA`). Default unset: cleartext.
   */
  tls: ServerTlsSettings | undefined;
}

/** A configuration error, reported at start-up with the setting's name. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const topLevel = [
  "port", "host", "store", "redis", "memory", "limits", "ttlPolicy", "namespaces", "apiKeys", "logLevel", "drainTimeoutMs", "metrics", "workers", "commands",
  "dashboard", "tls", "apiKeysFile",
] as const;

/** The top-level settings of the config file. */
export const configSettings: readonly string[] = topLevel;

/** Every environment variable that the server reads. */
export const environmentVariables: readonly string[] = [
  "LARDER_PORT", "LARDER_HOST", "LARDER_STORE", "REDIS_URL", "LARDER_CONFIG", "LARDER_LOG_LEVEL", "LARDER_METRICS_PORT", "LARDER_WORKERS",
  "LARDER_TLS_CERT", "LARDER_TLS_KEY", "LARDER_TLS_CLIENT_CA",
];

const metricsSettings = ["enabled", "port", "path"] as const;

/** One namespace's settings in the config file. */
export type NamespaceSettings = Partial<NamespacePolicy> & {
  /** "pinned" keeps the namespace's keys in one Redis Cluster slot (see the Redis store's keys.ts). Default "spread". */
  placement?: Placement;
};

/**
 * Loads the configuration.
 * @param env the environment; default process.env.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LarderConfig {
  const file = env["LARDER_CONFIG"];
  const raw = file === undefined || file === "" ? {} : readConfigFile(file);
  const where = file ?? "config";
  for (const key of Object.keys(raw)) {
    if (!(topLevel as readonly string[]).includes(key)) {
      throw new ConfigError(`${where}: unknown setting "${key}"; known: ${topLevel.join(", ")}`);
    }
  }
  const config: LarderConfig = {
    port: 8080,
    host: "0.0.0.0",
    store: "memory",
    redis: {},
    memory: {},
    limits: {},
    ttlPolicy: {},
    namespaces: {},
    apiKeys: [],
    logLevel: "info",
    drainTimeoutMs: 10_000,
    metrics: { enabled: true },
    workers: 1,
    commands: {},
    dashboard: { enabled: true },
    tls: undefined,
    apiKeysFile: undefined,
    ...(raw as Partial<LarderConfig>),
  };
  if (config.apiKeysFile !== undefined) config.apiKeys = [...config.apiKeys, ...readApiKeysFile(config.apiKeysFile)];
  if (env["LARDER_PORT"]) config.port = Number(env["LARDER_PORT"]);
  if (env["LARDER_HOST"]) config.host = env["LARDER_HOST"];
  if (env["REDIS_URL"]) {
    config.redis = { ...config.redis, url: env["REDIS_URL"] };
    config.store = "redis";
  }
  if (env["LARDER_STORE"]) config.store = env["LARDER_STORE"] as LarderConfig["store"];
  if (env["LARDER_LOG_LEVEL"]) config.logLevel = env["LARDER_LOG_LEVEL"] as LogLevel;
  if (env["LARDER_WORKERS"]) config.workers = Number(env["LARDER_WORKERS"]);
  if (env["LARDER_METRICS_PORT"]) config.metrics = { ...config.metrics, port: Number(env["LARDER_METRICS_PORT"]) };
  for (const [variable, setting] of [["LARDER_TLS_CERT", "cert"], ["LARDER_TLS_KEY", "key"], ["LARDER_TLS_CLIENT_CA", "clientCa"]] as const) {
    const value = env[variable];
    if (value) config.tls = { ...(config.tls ?? {}), [setting]: value } as ServerTlsSettings;
  }
  validate(config);
  try {
    checkServerTls(config.tls);
    checkRedisTls(config.redis.tls);
  } catch (err) {
    if (err instanceof TlsConfigError) throw new ConfigError(err.message);
    throw err;
  }
  const pinned = Object.entries(config.namespaces).filter(([, s]) => s.placement === "pinned");
  if (pinned.length > 0) config.redis = { ...config.redis, pinnedNamespaces: pinned.map(([ns]) => ns) };
  try {
    // Parsed here only to fail the start-up, with the setting's name, on a bad definition or a missing secret.
    parseCommands(config.commands, env, config.limits.maxCommandResponseBytes ?? defaultLimits.maxCommandResponseBytes);
  } catch (err) {
    if (err instanceof CommandConfigError) throw new ConfigError(err.message);
    throw err;
  }
  return config;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`LARDER_CONFIG: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`${path}: must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function readApiKeysFile(path: unknown): ApiKeyConfig[] {
  if (typeof path !== "string" || path === "") throw new ConfigError("apiKeysFile: must be a file path");
  let keys: unknown;
  try {
    keys = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`apiKeysFile: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!Array.isArray(keys)) throw new ConfigError(`apiKeysFile: ${path} must hold a JSON array of API keys, like apiKeys`);
  keys.forEach((k, i) => apiKey(`apiKeysFile ${path}: [${i}]`, k as ApiKeyConfig));
  return keys as ApiKeyConfig[];
}

function validate(c: LarderConfig): void {
  integer("port (LARDER_PORT)", c.port, 0, 65_535);
  if (c.store !== "memory" && c.store !== "redis") {
    throw new ConfigError(`store (LARDER_STORE): must be "memory" or "redis", got "${String(c.store)}"`);
  }
  if (!isLogLevel(c.logLevel)) {
    throw new ConfigError(`logLevel (LARDER_LOG_LEVEL): must be debug, info, warn, error or silent, got "${String(c.logLevel)}"`);
  }
  integer("drainTimeoutMs", c.drainTimeoutMs, 0, 3_600_000);
  integer("workers (LARDER_WORKERS, --workers)", c.workers, 1, 256);
  if (c.workers > 1 && c.store === "memory") {
    throw new ConfigError(
      "workers (LARDER_WORKERS, --workers): more than 1 needs the redis store (REDIS_URL); each process would have its own memory store",
    );
  }
  metrics(c.metrics);
  dashboard(c.dashboard);
  // `"dashboard": {}` in the file keeps the default.
  c.dashboard = { enabled: c.dashboard.enabled ?? true };
  for (const [name, value] of Object.entries(c.limits)) {
    if (!(name in defaultLimits)) throw new ConfigError(`limits.${name}: unknown limit`);
    integer(`limits.${name}`, value, 1, Number.MAX_SAFE_INTEGER);
  }
  policy("ttlPolicy", c.ttlPolicy);
  for (const [ns, settings] of Object.entries(c.namespaces)) {
    const { placement, ...p } = settings;
    if (placement !== undefined && placement !== "spread" && placement !== "pinned") {
      throw new ConfigError(`namespaces.${ns}.placement: must be "spread" or "pinned", got ${JSON.stringify(placement)}`);
    }
    policy(`namespaces.${ns}`, p);
  }
  c.apiKeys.forEach((k, i) => apiKey(`apiKeys[${i}]`, k));
}

function metrics(m: MetricsSettings): void {
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw new ConfigError("metrics: must be an object");
  for (const name of Object.keys(m)) {
    if (!(metricsSettings as readonly string[]).includes(name)) {
      throw new ConfigError(`metrics.${name}: unknown setting; known: ${metricsSettings.join(", ")}`);
    }
  }
  if (m.enabled !== undefined && typeof m.enabled !== "boolean") throw new ConfigError("metrics.enabled: must be true or false");
  if (m.port !== undefined) integer("metrics.port (LARDER_METRICS_PORT)", m.port, 0, 65_535);
  if (m.path !== undefined && (typeof m.path !== "string" || !/^\/[^?#\s]*$/.test(m.path) || ["/healthz", "/readyz"].includes(m.path))) {
    throw new ConfigError(`metrics.path: must start with "/" and not be /healthz or /readyz, got ${JSON.stringify(m.path)}`);
  }
}

function dashboard(d: LarderConfig["dashboard"]): void {
  if (typeof d !== "object" || d === null || Array.isArray(d)) throw new ConfigError("dashboard: must be an object");
  for (const name of Object.keys(d)) {
    if (name !== "enabled") throw new ConfigError(`dashboard.${name}: unknown setting; known: enabled`);
  }
  if (d.enabled !== undefined && typeof d.enabled !== "boolean") throw new ConfigError("dashboard.enabled: must be true or false");
}

function policy(where: string, p: Partial<NamespacePolicy>): void {
  for (const [name, value] of Object.entries(p)) {
    if (!(name in defaultNamespacePolicy)) throw new ConfigError(`${where}.${name}: unknown setting`);
    if (name === "allowNoExpiry" || name === "trackReads") {
      if (typeof value !== "boolean") throw new ConfigError(`${where}.${name}: must be true or false`);
    } else {
      integer(`${where}.${name}`, value, 1, Number.MAX_SAFE_INTEGER);
    }
  }
}

function apiKey(where: string, k: ApiKeyConfig): void {
  if (typeof k !== "object" || k === null) throw new ConfigError(`${where}: must be an object`);
  if (typeof k.sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(k.sha256)) {
    throw new ConfigError(`${where}.sha256: must be the 64 hex digits printed by "larder hash-key <key>"`);
  }
  if (typeof k.namespace !== "string" || k.namespace === "") {
    throw new ConfigError(`${where}.namespace: must be a non-empty string`);
  }
  for (const p of k.permissions ?? []) {
    if (!knownPermissions.includes(p as Permission)) {
      throw new ConfigError(`${where}.permissions: unknown permission "${String(p)}"; known: ${knownPermissions.join(", ")}`);
    }
  }
}

function integer(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}
