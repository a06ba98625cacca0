import type { LarderConfig } from "./config.js";
import { createMemoryStore } from "../store/memory/memory-store.js";
import { createRedisStore } from "../store/redis/redis-store.js";
import type { Store } from "../store/store.js";

/** Creates the store that a configuration names. */
export function openStore(config: Pick<LarderConfig, "store" | "redis" | "memory">): Store {
  return config.store === "redis" ? createRedisStore(config.redis) : createMemoryStore(config.memory);
}
