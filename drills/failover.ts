/**
 * Drills: the Redis master killed under writers, with Sentinel (1 master,
 * 1 replica, 3 sentinels) and with a Cluster (3 masters, 1 replica each).
 * Replication is asynchronous in both, so a write that the master
 * acknowledged but had not yet sent to its replica can be lost with it: the
 * drills count such writes rather than assume there are none.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startRedisCluster } from "../test/harness/redis-cluster.js";
import { startRedisSentinel } from "../test/harness/redis-sentinel.js";
import { Promises, type Drill, type DrillContext, type DrillResult } from "./drill.js";
import { startLarder } from "./larder-process.js";
import { lostWrites, startWriters } from "./write-load.js";

const phases = { quick: { beforeMs: 2000, afterMs: 8000 }, full: { beforeMs: 10_000, afterMs: 20_000 } };

/** Writes through Larder on `redis` settings, kills a master, and measures the gap and the loss. */
async function underWriters(ctx: DrillContext, redis: object, kill: () => Promise<void>): Promise<DrillResult> {
  const p = phases[ctx.mode];
  const config = join(ctx.workDir, "larder.json");
  writeFileSync(config, JSON.stringify({ store: "redis", redis }));
  const larder = await startLarder(ctx.root, "larder", { LARDER_CONFIG: config });
  const ns = "drill-failover";
  const writers = startWriters(larder.url, ns, 16);
  const check = new Promises();
  try {
    await sleep(p.beforeMs);
    const killedAt = performance.now();
    await kill();
    await sleep(p.afterMs);
    await writers.stop();
    // The longest stretch without an acknowledged write, after the kill.
    const times = writers.log.ackTimes.filter((t) => t >= killedAt - 1000).sort((a, b) => a - b);
    let gapMs = 0;
    let previous = killedAt;
    for (const t of times) {
      if (t >= killedAt) gapMs = Math.max(gapMs, t - previous);
      previous = Math.max(previous, t);
    }
    const resumed = times.some((t) => t > killedAt + gapMs - 1);
    const lost = await lostWrites(larder.url, ns, writers.log.acked);
    const codes = new Set(writers.log.failures.map((f) => f.code));
    check.expect(resumed && gapMs <= 5000, `writes stopped for ${gapMs.toFixed(0)} ms after the kill (promise: back within 5 s)`);
    check.expect(larder.alive(), "Larder exited");
    check.expect([...codes].every((c) => c === "UNAVAILABLE"), `failures other than UNAVAILABLE: ${[...codes].join(", ")}`);
    return check.result({
      "acknowledged writes": writers.log.acked.size,
      "lost (acknowledged, then gone with the old master)": lost.length,
      "longest gap without a write": `${gapMs.toFixed(0)} ms`,
      "failed calls": writers.log.failures.length,
      "failure codes": [...codes].join(", ") || "none",
    });
  } finally {
    await writers.stop();
    await larder.stop();
  }
}

export const sentinelFailover: Drill = {
  id: "sentinel-failover",
  promise:
    "kill -9 of the master (Sentinel: 1 replica, 3 sentinels, down-after 1 s) under 16 writers: Larder follows the new master by itself and writes resume within 5 s; writes acknowledged but not yet replicated may be lost with the old master, and the figures count them",
  async run(ctx) {
    const sentinel = await startRedisSentinel();
    try {
      const redis = { sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })), sentinelName: sentinel.masterName };
      return await underWriters(ctx, redis, async () => void (await sentinel.killMaster()));
    } finally {
      await sentinel.stop();
    }
  },
};

export const clusterFailover: Drill = {
  id: "cluster-failover",
  promise:
    "kill -9 of one master of a 3-master Cluster (1 replica each, node timeout 2 s) under 16 writers spread over every slot: Larder follows the promoted replica by itself and writes resume within 5 s; unreplicated acknowledged writes are counted as for Sentinel",
  async run(ctx) {
    const cluster = await startRedisCluster({ replicasPerMaster: 1 });
    try {
      const master = cluster.nodes.find((n) => n.role === "master");
      if (master === undefined) throw new Error("the Cluster has no master");
      const redis = { clusterNodes: cluster.nodes.map(({ host, port }) => ({ host, port })) };
      return await underWriters(ctx, redis, () => cluster.kill(master.port));
    } finally {
      await cluster.stop();
    }
  },
};
