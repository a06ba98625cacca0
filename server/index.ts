/**
 * Larder's public entry: what embedding code and tests may import. Every
 * other module is internal, and may move between releases.
 *
 * - `app/`       the process: the `larder` command, config, workers, and
 *                {@link createLarderServer}, the one module that wires the rest
 * - `core/`      leaf modules every layer may import: errors, limits, logger, metrics
 * - `service/`   the API's logic, free of any transport, and its method table
 * - `commands/`  RunCommand: definitions, upstream calls, caching and fallback
 * - `transport/` the one port: listener, request gate, gRPC and Connect paths
 * - `ops/`       health, reflection, /healthz, /readyz and /metrics
 * - `store/`     the Store contract and its backends, `memory/` and `redis/`
 */

export { createLarderServer, type LarderServer, type LarderServerOptions } from "./app/server.js";
export { ConfigError, loadConfig, type LarderConfig } from "./app/config.js";
export { openStore } from "./app/open-store.js";
export { LarderError, type ErrorKind } from "./core/errors.js";
export { createLogger, type LogLevel, type Logger, type LoggerOptions } from "./core/logger.js";
export { hashApiKey, type ApiKeyConfig, type Permission } from "./transport/auth.js";
export { createMemoryStore, type MemoryStoreOptions } from "./store/memory/memory-store.js";
export { createRedisStore, type RedisStoreOptions } from "./store/redis/redis-store.js";
export type * from "./store/store.js";
export type { CommandState } from "./store/command-state.js";
