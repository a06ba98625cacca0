/**
 * A real Redis Sentinel set-up for tests: one master, one replica and
 * sentinels that monitor them, each on a free loopback port.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { launchRedis, makeTempDir, removeTempDir, type RedisProcess } from "./redis-process.js";

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** The master name the sentinels monitor. Default `mymaster`. */
  masterName?: string;
  /** Sentinel processes. Default 3, the usual smallest deployment. */
  sentinels?: number;
  /** Sentinels that must agree the master is down. Default 2. */
  quorum?: number;
  /**
   * `down-after-milliseconds`: how long the master may not answer before a
   * sentinel thinks it down. Default 1000 ms (Redis' 30 s would outlast any
   * test).
   */
  downAfterMs?: number;
  /** `failover-timeout`, also the wait before a failed election is retried (twice this). Default 3000 ms. */
  failoverTimeoutMs?: number;
  /** How long the sentinels may take to find the replica and each other. Default 30000 ms. */
  readyTimeoutMs?: number;
}

/** An address on the loopback interface. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** A Sentinel set-up started by the test run; see {@link startRedisSentinel}. */
export interface RedisSentinel {
  /** The master name to ask the sentinels for. */
  readonly masterName: string;
  /** The sentinels' addresses, as a Redis client takes them. */
  readonly sentinels: readonly RedisAddress[];
  /** The master as started; after a failover, ask the sentinels. */
  readonly master: RedisAddress;
  /** The replica as started. */
  readonly replica: RedisAddress;
  /**
   * Ends the process that the sentinels currently name as master at once
   * (SIGKILL), as a crash would, and answers its port.
   */
  killMaster(): Promise<number>;
  /** Kills every process and removes the temp dir with the sentinel configs. */
  stop(): Promise<void>;
}

/**
 * Starts a master, a replica of it (`--replicaof`) and sentinels that
 * monitor it, all without persistence on 127.0.0.1, and resolves once the
 * replica is in sync and every sentinel knows the master, the replica and
 * every other sentinel, so that a failover can start at once. On failure
 * everything started is killed.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinel> {
  const name = options.masterName ?? "mymaster";
  const count = options.sentinels ?? 3;
  const dir = makeTempDir("larder-sentinel");
  const servers: RedisProcess[] = [];
  const sentinels: RedisProcess[] = [];
  // SIGKILL: nothing is persisted, and since Redis 7 a master shutting down
  // waits (up to 10 s) for lagging replicas.
  const stop = async (): Promise<void> => {
    await Promise.all([...servers, ...sentinels].map((p) => p.stop("SIGKILL")));
    removeTempDir(dir);
  };
  try {
    // Both may become master: without the delay, a replica's first sync
    // waits 5 s for more replicas to share it.
    const serverArgs = ["--dir", dir, "--repl-diskless-sync-delay", "0"];
    const master = await launchRedis({ cwd: dir, args: () => serverArgs });
    servers.push(master);
    const replica = await launchRedis({ cwd: dir, args: () => [...serverArgs, "--replicaof", "127.0.0.1", String(master.port)] });
    servers.push(replica);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    // In sync before the sentinels start: a sentinel learns about replicas
    // from the master's INFO, which it asks at once and then only every 10 s.
    await poll(replica.port, deadline, async (c) => /master_link_status:up/.test(await c.info("replication")), "the replica did not sync");
    const conf = [
      `sentinel monitor ${name} 127.0.0.1 ${master.port} ${options.quorum ?? 2}`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${name} 1`,
      "",
    ].join("\n");
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) => {
        // Each sentinel rewrites its own file, so each gets one.
        const file = join(dir, `sentinel-${i}.conf`);
        writeFileSync(file, conf);
        return launchRedis({ configFile: file, cwd: dir, args: () => ["--sentinel"] });
      }),
    );
    sentinels.push(...started);
    await Promise.all(
      sentinels.map((s) =>
        poll(
          s.port,
          deadline,
          async (c) => {
            const replicas = (await c.call("SENTINEL", "REPLICAS", name)) as string[][];
            const others = (await c.call("SENTINEL", "SENTINELS", name)) as unknown[];
            const replicaUp = replicas.some((r) => fieldOf(r, "port") === String(replica.port) && !/s_down|disconnected/.test(fieldOf(r, "flags")));
            return replicaUp && others.length === count - 1;
          },
          `sentinel ${s.port} did not find the replica and the other sentinels`,
        ),
      ),
    );
    const address = (p: RedisProcess): RedisAddress => ({ host: "127.0.0.1", port: p.port });
    return {
      masterName: name,
      sentinels: sentinels.map(address),
      master: address(master),
      replica: address(replica),
      killMaster: async () => {
        const probe = new Redis({ port: sentinels[0]?.port ?? 0, host: "127.0.0.1", maxRetriesPerRequest: 1 });
        probe.on("error", () => {});
        try {
          const reply = (await probe.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as [string, string];
          const port = Number(reply[1]);
          const proc = servers.find((p) => p.port === port);
          if (proc === undefined) throw new Error(`the sentinels name ${reply.join(":")} as master, which this set-up did not start`);
          await proc.stop("SIGKILL");
          return port;
        } finally {
          probe.disconnect();
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A field of a SENTINEL reply, which lists names and values alternately. */
function fieldOf(reply: readonly string[], field: string): string {
  const i = reply.indexOf(field);
  return i >= 0 && i % 2 === 0 ? (reply[i + 1] ?? "") : "";
}

/** Asks `check` on a connection to `port` every 50 ms until it holds, or fails with `what` at `deadline`. */
async function poll(port: number, deadline: number, check: (c: Redis) => Promise<boolean>, what: string): Promise<void> {
  const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  try {
    for (;;) {
      try {
        if (await check(client)) return;
      } catch {
        // Not answering yet; the deadline decides.
      }
      if (Date.now() > deadline) throw new Error(`${what} in time`);
      await sleep(50);
    }
  } finally {
    client.disconnect();
  }
}
