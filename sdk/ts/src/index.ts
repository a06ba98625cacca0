/**
 * `@larder/sdk`: the TypeScript client of Larder, a shared key-value cache
 * for function runtimes. Start with {@link createCache}.
 *
 * @packageDocumentation
 */

export { createCache } from "./create-cache.js";
export type {
  Cache,
  GetOptions,
  GetOrComputeOptions,
  IterateKeysOptions,
  SetManyEntry,
  SetOptions,
} from "./cache.js";
export type { CacheOptions, TlsOptions } from "./options.js";
export type { CommandEvent, CommandResult, RunCommandOptions } from "./commands.js";
export { LockNotAcquiredError } from "./lock.js";
export type { LockHandle, LockHolderInfo, LockInfo, LockOptions } from "./lock.js";
export type { CacheEntry } from "./values.js";
export { Code, LarderError, codeName } from "./errors.js";

/**
 * The generated service descriptor, for advanced use with
 * `createClient(CacheService, transport)` from `@connectrpc/connect`, e.g.
 * to reach RPCs the wrapper does not cover yet.
 */
export { CacheService } from "../gen/larder/v1/cache_pb.js";
