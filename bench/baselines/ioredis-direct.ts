/**
 * Baseline: ioredis talking straight to Redis, GET or MGET(100) of the same
 * values with the same concurrency, from the load generator process. This
 * is the floor for Larder on the Redis store: every Larder call is one
 * Redis round trip plus Larder's own work, so Larder can approach but never
 * beat it.
 *
 * On a Redis Cluster, MGET cannot span slots (ioredis refuses it), and the
 * 100 keys of a GetMany spread over every master, as Larder spreads a
 * namespace. So there each call is the 100 GETs in one pipeline per master,
 * sent together: the same round trips that Larder makes, one per node.
 */
import { Cluster, Redis } from "ioredis";
import type { Driver, NodeLoadConfig, OpenDriver } from "../load/driver.js";
import { counterKey, getManyKeys, hitKey, jsonValueText, missKey, setKey, ttlMs, type Op } from "../payloads.js";

/** Either client: the calls the baseline makes exist on both. */
type Client = Redis | Cluster;

/** The keys an op reads, which the driver writes before the first call. */
function keysRead(config: NodeLoadConfig): string[] {
  return config.op === "get-hit" ? [hitKey(config.valueBytes)] : config.op === "get-many" ? getManyKeys(config.valueBytes) : [];
}

/** A driver over one client per connection, the loops sharing them round-robin. */
function driverOver<C extends Client>(clients: readonly C[], call: (client: C) => Promise<void>): Driver {
  return {
    call: (loop) => call(clients[loop % clients.length] as C),
    close: async () => {
      await Promise.all(clients.map((c) => c.quit()));
    },
  };
}

/** Opens one ioredis client per connection and writes the values the op reads. */
export const openIoredis: OpenDriver = async (config) => {
  const clients = Array.from({ length: config.connections }, () => new Redis(config.url, { lazyConnect: true }));
  await Promise.all(clients.map((c) => c.connect()));
  const first = clients[0];
  if (first === undefined) throw new Error("ioredis driver needs at least one connection");
  const value = jsonValueText(config.valueBytes);
  const keys = keysRead(config);
  if (keys.length > 0) await first.mset(...keys.flatMap((k) => [k, value]));
  await first.del(missKey);
  const call =
    config.op === "get-many"
      ? async (redis: Redis): Promise<void> => {
          const values = await redis.mgetBuffer(...keys);
          if (values.some((v) => v === null)) throw new Error("MGET answered nil where values were primed");
        }
      : redisCall(config.op, config.valueBytes, value);
  return driverOver(clients, call);
};

/**
 * Opens one ioredis Cluster client per connection (each with its own
 * connection to every master), seeded with the node in `config.url`, and
 * writes the values the op reads.
 */
export const openIoredisCluster: OpenDriver = async (config) => {
  const seed = new URL(config.url);
  const clients = Array.from({ length: config.connections }, () => new Cluster([{ host: seed.hostname, port: Number(seed.port) }], { lazyConnect: true }));
  await Promise.all(clients.map((c) => c.connect()));
  const first = clients[0];
  if (first === undefined) throw new Error("ioredis Cluster driver needs at least one connection");
  const value = jsonValueText(config.valueBytes);
  const keys = keysRead(config);
  // One SET per key: MSET, like MGET, cannot span slots.
  await Promise.all(keys.map((k) => first.set(k, value)));
  await first.del(missKey);
  if (config.op !== "get-many") return driverOver(clients, redisCall(config.op, config.valueBytes, value));
  // Where each key lives is fixed for the run, so it is looked up once, not per call.
  const groups = await keysByMaster(first, keys);
  return driverOver(clients, async (cluster) => {
    const replies = await Promise.all(
      groups.map((group) => {
        const pipeline = cluster.pipeline();
        for (const key of group) pipeline.getBuffer(key);
        return pipeline.exec();
      }),
    );
    for (const reply of replies) {
      if (reply === null) throw new Error("a GET pipeline was discarded");
      for (const [err, got] of reply) {
        if (err !== null) throw err;
        if (got === null) throw new Error("GET answered nil where a value was primed");
      }
    }
  });
};

/**
 * The keys grouped by the master that owns their slot, as the Cluster told
 * the client. ioredis sends a pipeline to one node and refuses one whose
 * keys live on several.
 */
async function keysByMaster(cluster: Cluster, keys: readonly string[]): Promise<string[][]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const slot = Number(await cluster.call("CLUSTER", "KEYSLOT", key));
    const node = cluster.slots[slot]?.[0];
    if (node === undefined) throw new Error(`the Cluster client knows no master for slot ${slot}`);
    const group = groups.get(node);
    if (group === undefined) groups.set(node, [key]);
    else group.push(key);
  }
  return [...groups.values()];
}

/** One call of every op but GetMany, which differs between a redis-server and a Cluster. */
function redisCall(op: Exclude<Op, "get-many">, valueBytes: number, value: string): (client: Client) => Promise<void> {
  switch (op) {
    case "get-hit": {
      const key = hitKey(valueBytes);
      return async (client) => {
        if ((await client.getBuffer(key)) === null) throw new Error("GET answered nil where a value was primed");
      };
    }
    case "get-miss":
      return async (client) => {
        await client.getBuffer(missKey);
      };
    case "set": {
      const key = setKey(valueBytes);
      return async (client) => {
        await client.set(key, value, "PX", ttlMs);
      };
    }
    case "increment":
      return async (client) => {
        await client.incr(counterKey);
      };
  }
}
