/**
 * A real Redis Cluster for tests: redis-server processes in cluster mode on
 * free loopback ports, joined by `redis-cli --cluster create`.
 */

import { execFile } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, launchRedis, makeTempDir, removeTempDir, type RedisProcess } from "./redis-process.js";

const run = promisify(execFile);

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters, over which the 16384 slots are split. Default 3, the fewest `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Replicas per master; 1 gives a failover drill a replica to promote. Default 0. */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before the
   * others fail it over. Default 2000 ms; Redis' own 15 s would make a
   * failover drill wait for most of a test timeout.
   */
  nodeTimeoutMs?: number;
  /** How long the cluster may take to agree on its slots after creation. Default 30000 ms. */
  readyTimeoutMs?: number;
  /**
   * More options for every node, after the harness' own; given the node's
   * port, may pick further free ports (e.g. a TLS port). Default none.
   */
  extraArgs?: (port: number) => string[] | Promise<string[]>;
}

/** One node of a {@link RedisCluster}. */
export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
  /** Its role right after creation; a failover changes the live role, not this. */
  readonly role: "master" | "replica";
}

/** A Redis Cluster started by the test run; see {@link startRedisCluster}. */
export interface RedisCluster {
  /** Every node, masters and replicas, as created. */
  readonly nodes: readonly RedisClusterNode[];
  /** The process ids of the nodes still running (the bench counts their CPU). */
  readonly pids: readonly number[];
  /** Ends one node at once (SIGKILL), as a crash would, and waits until it has exited. */
  kill(port: number): Promise<void>;
  /** Kills every node and removes the temp dir with their nodes.conf files. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster on 127.0.0.1: `masters × (1 + replicasPerMaster)`
 * nodes without persistence, slots split evenly by redis-cli, and resolves
 * once every node reports `cluster_state:ok` with all slots assigned and
 * every replica is in sync. On failure everything started is killed.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const dir = makeTempDir("larder-cluster");
  const procs: RedisProcess[] = [];
  // SIGKILL, not SIGTERM: nothing is persisted, and since Redis 7 a master
  // shutting down waits (up to 10 s) for lagging replicas.
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop("SIGKILL")));
    removeTempDir(dir);
  };
  try {
    const count = masters * (1 + replicas);
    const started = await Promise.all(
      Array.from({ length: count }, () =>
        launchRedis({
          cwd: dir,
          // The bus port is given explicitly: the default, port + 10000, can
          // be taken or lie beyond 65535 for a port from the ephemeral range.
          args: async (port) => [
            "--cluster-enabled", "yes",
            "--cluster-config-file", join(dir, `nodes-${port}.conf`),
            "--cluster-port", String(await freePort()),
            "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 2000),
            "--dir", dir,
            // A replica's first sync would otherwise wait 5 s for more replicas to share it.
            "--repl-diskless-sync-delay", "0",
            ...((await options.extraArgs?.(port)) ?? []),
          ],
        }),
      ),
    );
    procs.push(...started);
    const addresses = procs.map((p) => `127.0.0.1:${p.port}`);
    try {
      await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicas), "--cluster-yes"], { timeout: 30_000 });
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    const nodes = await waitUntilReady(procs, count, options.readyTimeoutMs ?? 30_000);
    if (nodes.filter((n) => n.role === "master").length !== masters) {
      throw new Error(`the cluster came up with the wrong number of masters: ${JSON.stringify(nodes)}`);
    }
    return {
      nodes,
      get pids() {
        return procs.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
      },
      kill: async (port) => {
        const proc = procs.find((p) => p.port === port);
        if (proc === undefined) throw new Error(`no cluster node on port ${port}`);
        await proc.stop("SIGKILL");
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Polls every node until it sees a healthy cluster of `count` nodes with
 * all slots assigned and, if it is a replica, a live link to its master;
 * answers each node's role.
 */
async function waitUntilReady(procs: readonly RedisProcess[], count: number, timeoutMs: number): Promise<RedisClusterNode[]> {
  const deadline = Date.now() + timeoutMs;
  const clients = procs.map((p) => new Redis({ port: p.port, host: "127.0.0.1", maxRetriesPerRequest: 1, lazyConnect: true }));
  for (const c of clients) c.on("error", () => {});
  let last = "";
  try {
    for (;;) {
      const states = await Promise.all(
        clients.map(async (c, i) => {
          const info = await c.cluster("INFO");
          const replication = await c.info("replication");
          const role = /role:slave/.test(replication) ? ("replica" as const) : ("master" as const);
          const ok =
            /cluster_state:ok/.test(info) &&
            /cluster_slots_assigned:16384\b/.test(info) &&
            new RegExp(`cluster_known_nodes:${count}\\b`).test(info) &&
            (role === "master" || /master_link_status:up/.test(replication));
          last = ok ? last : `node ${procs[i]?.port}: ${info.replace(/\r?\n/g, " ")}`;
          return { ok, role };
        }),
      );
      if (states.every((s) => s.ok)) {
        return procs.map((p, i) => ({ host: "127.0.0.1", port: p.port, role: states[i]?.role ?? "master" }));
      }
      if (Date.now() > deadline) throw new Error(`the cluster did not become ready in ${timeoutMs} ms; ${last}`);
      await sleep(50);
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}
