/**
 * The Redis topologies beyond one standalone server that a test store can
 * run on, started by kind, with the store options that connect to them.
 */

import type { RedisStoreOptions } from "../../server/index.js";
import { startRedisCluster, type RedisCluster, type RedisClusterOptions } from "./redis-cluster.js";
import { startRedisSentinel, type RedisSentinel, type RedisSentinelOptions } from "./redis-sentinel.js";

/** The store kinds that need a topology of several Redis processes. */
export type RedisTopologyKind = "redis-cluster" | "redis-sentinel";

/** A started topology of either kind. */
export type RedisTopology =
  | { readonly kind: "redis-cluster"; readonly cluster: RedisCluster; readonly storeOptions: RedisStoreOptions; stop(): Promise<void> }
  | { readonly kind: "redis-sentinel"; readonly sentinel: RedisSentinel; readonly storeOptions: RedisStoreOptions; stop(): Promise<void> };

/** Options of {@link startRedisTopology}; each applies to its kind only. */
export interface RedisTopologyOptions {
  /** Default: a 3-master cluster without replicas. */
  cluster?: RedisClusterOptions;
  /** Default: 1 master, 1 replica, 3 sentinels. */
  sentinel?: RedisSentinelOptions;
}

/**
 * Starts the topology of a store kind. `storeOptions` are what
 * `createRedisStore` needs to reach it, as a config file would give them:
 * every node as a Cluster seed, or every sentinel with the master name.
 */
export async function startRedisTopology(kind: RedisTopologyKind, options: RedisTopologyOptions = {}): Promise<RedisTopology> {
  if (kind === "redis-cluster") {
    const cluster = await startRedisCluster(options.cluster);
    const clusterNodes = cluster.nodes.map(({ host, port }) => ({ host, port }));
    return { kind, cluster, storeOptions: { clusterNodes }, stop: () => cluster.stop() };
  }
  const sentinel = await startRedisSentinel(options.sentinel);
  const sentinels = sentinel.sentinels.map(({ host, port }) => ({ host, port }));
  return { kind, sentinel, storeOptions: { sentinels, sentinelName: sentinel.masterName }, stop: () => sentinel.stop() };
}
