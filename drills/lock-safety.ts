/**
 * Drill: 50 clients over 3 Larder processes take one lock and increment a
 * counter by read-modify-write with lock-guarded Sets, while redis-server is
 * killed and restarted (AOF, appendfsync always).
 */

import { setTimeout as sleep } from "node:timers/promises";
import { createCache, type Cache } from "../sdk/ts/src/index.js";
import { launchRedis } from "../test/harness/redis-process.js";
import { Promises, type Drill } from "./drill.js";
import { startLarder, type LarderProcess } from "./larder-process.js";

const phases = { quick: { runMs: 8000, restarts: 1 }, full: { runMs: 30_000, restarts: 3 } };

export const lockSafety: Drill = {
  id: "lock-safety",
  promise:
    "50 clients over 3 Larder processes increment one counter under one lock with guarded Sets while Redis is killed and restarted: no acknowledged write is lost and none is applied twice, so the counter is at least the acknowledged guarded writes and at most those plus the Sets whose answer was lost (an UNAVAILABLE after the write reached Redis); fencing is what keeps a holder whose grant ended from writing",
  async run(ctx) {
    const p = phases[ctx.mode];
    const redis = await launchRedis({ args: () => ["--appendonly", "yes", "--appendfsync", "always", "--dir", ctx.workDir] });
    const env = { REDIS_URL: `redis://127.0.0.1:${redis.port}` };
    const larders: LarderProcess[] = [];
    for (let i = 0; i < 3; i++) larders.push(await startLarder(ctx.root, `larder-${i}`, env));
    const check = new Promises();
    const ns = "drill-locks";
    let running = true;
    let applied = 0;
    let refused = 0;
    let failedCalls = 0;
    // Sets that failed: applied or not, the client cannot know.
    let uncertainSets = 0;
    let inside = 0;
    let overlaps = 0;
    const caches: Cache[] = [];
    const clients = Array.from({ length: 50 }, async (_, i) => {
      const cache = createCache({ url: (larders[i % 3] as LarderProcess).url, namespace: ns, retries: 0, timeoutMs: 5000 });
      caches.push(cache);
      while (running) {
        try {
          const lock = await cache.tryLock("counter", { ttl: 2, wait: 2 });
          if (lock === null) continue;
          // Client-side view of mutual exclusion; fencing, not this, is what
          // keeps the counter right when a grant ends early.
          if (++inside > 1) overlaps++;
          try {
            const n = (await cache.get<number>("counter")) ?? 0;
            let ok: boolean;
            try {
              ok = await cache.set("counter", n + 1, { ttl: 3600, lock });
            } catch (err) {
              uncertainSets++;
              throw err;
            }
            if (ok) applied++;
            else refused++;
          } finally {
            inside--;
            await lock.release().catch(() => false);
          }
        } catch {
          failedCalls++;
          await sleep(50);
        }
      }
    });
    try {
      const slice = p.runMs / (p.restarts + 1);
      for (let r = 0; r < p.restarts; r++) {
        await sleep(slice);
        await redis.stop("SIGKILL");
        await sleep(500);
        await redis.relaunch();
        ctx.log(`lock-safety: restarted redis-server (${applied} guarded writes so far)`);
      }
      await sleep(slice);
      running = false;
      await Promise.all(clients);
      const reader = caches[0];
      const counter = reader === undefined ? undefined : await reader.get<number>("counter");
      const value = counter ?? 0;
      check.expect(value >= applied, `the counter is ${value}, below the ${applied} acknowledged guarded writes: a write was lost`);
      check.expect(value <= applied + uncertainSets, `the counter is ${value}, above ${applied} acknowledged + ${uncertainSets} unanswered Sets: a write was applied twice`);
      check.expect(larders.every((l) => l.alive()), "a Larder process exited");
      check.expect(applied > 0, "no guarded write was acknowledged");
      return check.result({
        "acknowledged guarded writes": applied,
        counter: String(counter),
        "Sets without an answer": uncertainSets,
        "refused (grant lost)": refused,
        "failed calls (during restarts)": failedCalls,
        "client-side overlaps seen": overlaps,
        "redis restarts": p.restarts,
      });
    } finally {
      running = false;
      await Promise.all(clients);
      await Promise.all(caches.map((c) => c.close()));
      for (const l of larders) await l.stop();
      await redis.stop();
    }
  },
};
