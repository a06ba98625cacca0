/**
 * Drill: redis-server killed with SIGKILL under 16 writers, then started
 * again from the same directory (AOF with `appendfsync always`).
 */

import { setTimeout as sleep } from "node:timers/promises";
import { launchRedis } from "../test/harness/redis-process.js";
import { Promises, type Drill } from "./drill.js";
import { startLarder } from "./larder-process.js";
import { lostWrites, startWriters } from "./write-load.js";

/** How long the writers run before the kill and after the restart, and how long Redis stays down. */
const phases = { quick: { beforeMs: 2000, downMs: 1000, afterMs: 2000 }, full: { beforeMs: 10_000, downMs: 3000, afterMs: 10_000 } };

export const redisRestart: Drill = {
  id: "redis-restart",
  promise:
    "kill -9 of redis-server (AOF, appendfsync always) under 16 writers, then a restart from its directory: no acknowledged write is lost, Larder never exits, calls during the outage fail fast as UNAVAILABLE, and writes succeed again within 2 s of the restart",
  async run(ctx) {
    const p = phases[ctx.mode];
    const redis = await launchRedis({ args: () => ["--appendonly", "yes", "--appendfsync", "always", "--dir", ctx.workDir] });
    const larder = await startLarder(ctx.root, "larder", { REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    const writers = startWriters(larder.url, "drill-restart", 16);
    const check = new Promises();
    try {
      await sleep(p.beforeMs);
      const ackedBeforeKill = writers.log.acked.size;
      await redis.stop("SIGKILL");
      ctx.log(`redis-restart: killed redis-server after ${ackedBeforeKill} acknowledged writes`);
      await sleep(p.downMs);
      await redis.relaunch();
      const restarted = performance.now();
      await sleep(p.afterMs);
      await writers.stop();
      const firstAfter = writers.log.ackTimes.find((t) => t >= restarted);
      const recoveryMs = firstAfter === undefined ? Infinity : firstAfter - restarted;
      const lost = await lostWrites(larder.url, "drill-restart", writers.log.acked);
      const codes = new Set(writers.log.failures.map((f) => f.code));
      const slowest = Math.max(0, ...writers.log.failures.map((f) => f.ms));
      const healthz = await fetch(`${larder.url}/healthz`).then((r) => r.status, () => 0);
      check.expect(lost.length === 0, `${lost.length} acknowledged writes lost, e.g. ${lost.slice(0, 5).join(", ")}`);
      check.expect(larder.alive() && healthz === 200, "Larder exited, or /healthz did not answer 200");
      check.expect([...codes].every((c) => c === "UNAVAILABLE"), `failures other than UNAVAILABLE: ${[...codes].join(", ")}`);
      check.expect(slowest <= 2500, `a failing call took ${slowest.toFixed(0)} ms (fail fast means within the 2 s store timeout)`);
      check.expect(recoveryMs <= 2000, `the first write after the restart succeeded after ${recoveryMs.toFixed(0)} ms`);
      return check.result({
        "acknowledged writes": writers.log.acked.size,
        "lost": lost.length,
        "failed calls": writers.log.failures.length,
        "failure codes": [...codes].join(", ") || "none",
        "slowest failed call": `${slowest.toFixed(0)} ms`,
        "first write after restart": `${recoveryMs.toFixed(0)} ms`,
      });
    } finally {
      await writers.stop();
      await larder.stop();
      await redis.stop();
    }
  },
};
