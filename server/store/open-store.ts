import type { LarderConfig } from "../config.js";
import { createMemoryStore } from "./memory.js";
import { createRedisStore } from "./redis.js";
import type { Store } from "./store.js";

/** Creates the store that a configuration names. */
export function openStore(config: Pick<LarderConfig, "store" | "redis" | "memory">): Store {
  return config.store === "redis" ? createRedisStore(config.redis) : createMemoryStore(config.memory);
}
