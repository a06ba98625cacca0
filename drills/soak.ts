/**
 * Drill: a steady mixed load for minutes (gets, sets, increments, locks;
 * gRPC and Connect over HTTP/1.1) against Larder on Redis, watching errors,
 * memory and latency over time.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { createCache, type Cache } from "../sdk/ts/src/index.js";
import { percentile } from "../bench/load/result.js";
import { launchRedis } from "../test/harness/redis-process.js";
import { Promises, type Drill } from "./drill.js";
import { startLarder } from "./larder-process.js";

/** Length, window for comparisons, and calls per second (about half of what this machine serves). */
const shapes = { quick: { seconds: 30, windowS: 10, rate: 1500 }, full: { seconds: 600, windowS: 60, rate: 3000 } };
const workers = 32;

/** The q-quantile (0–1) of latencies in ms, nearest rank as the bench reports them; 0 for none. */
function quantile(xs: number[], q: number): number {
  return xs.length === 0 ? 0 : percentile([...xs].sort((a, b) => a - b), q);
}
const p99 = (xs: number[]): number => quantile(xs, 0.99);
const p50 = (xs: number[]): number => quantile(xs, 0.5);

/**
 * How much slower the last window may be than the second. The full run
 * judges p99 over minute-long windows. The quick run's windows are 10 s,
 * where one collection or a neighbour on this shared 2-core machine moves
 * p99 by half (9.3 → 14.3 ms seen in a run with no fault), so it judges the
 * median, with room for that noise: what it must catch is a slowdown that
 * grows with the run, not a spike.
 */
const latencyRule = {
  quick: { name: "p50", of: p50, factor: 3 },
  full: { name: "p99", of: p99, factor: 1.5 },
} as const;

export const soak: Drill = {
  id: "soak",
  promise:
    "a steady mixed load (70 % Get, 20 % Set, 5 % Increment, 5 % Lock/Unlock; gRPC and Connect over HTTP/1.1) at about half of peak: no call fails, the last window's p99 is within 1.5× of the second's (the 30 s quick version, with 10 s windows too short for a steady p99 on a shared machine, judges the median within 3×), and Larder's peak RSS grows less than 10 % from the second window to the last (windows of a minute; the 30 s quick version judges no memory growth, since V8's heap still grows in its first minute, and reports it)",
  async run(ctx) {
    const shape = shapes[ctx.mode];
    const redis = await launchRedis();
    const larder = await startLarder(ctx.root, "larder", { REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    const check = new Promises();
    const caches: Cache[] = [];
    const windows: number[][] = [];
    const rss: number[] = [];
    const errors: string[] = [];
    const started = performance.now();
    const windowOf = (): number => Math.floor((performance.now() - started) / (shape.windowS * 1000));
    const end = started + shape.seconds * 1000;
    const perWorkerGapMs = (1000 * workers) / shape.rate;
    // The peak of each window: RSS saw-tooths with V8's collections, and a
    // single sample per window compares a trough with a crest.
    const sampler = setInterval(() => {
      const w = windowOf();
      rss[w] = Math.max(rss[w] ?? 0, larder.rssBytes());
    }, 500);
    const loops = Array.from({ length: workers }, async (_, w) => {
      const cache = createCache({ url: larder.url, namespace: "drill-soak", protocol: w % 2 === 0 ? "grpc" : "connect", retries: 0 });
      caches.push(cache);
      await cache.set(`k${w}`, { w, filler: "x".repeat(100) });
      for (let n = 0; performance.now() < end; n++) {
        const t0 = performance.now();
        const dice = (n * 7919 + w) % 100;
        try {
          if (dice < 70) await cache.get(`k${(w + n) % workers}`);
          else if (dice < 90) await cache.set(`k${w}`, { w, n, filler: "x".repeat(100) }, 600);
          else if (dice < 95) await cache.increment(`count${w % 4}`, 1, 600);
          else {
            const lock = await cache.tryLock(`lock${w % 8}`, { ttl: 5 });
            await lock?.release();
          }
          (windows[windowOf()] ??= []).push(performance.now() - t0);
        } catch (err) {
          errors.push(err instanceof Error ? err.message : String(err));
        }
        const wait = perWorkerGapMs - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
      }
    });
    try {
      await Promise.all(loops);
      clearInterval(sampler);
      const full = windows.slice(0, Math.floor(shape.seconds / shape.windowS));
      const second = full[1] ?? [];
      const last = full.at(-1) ?? [];
      const rssSecond = rss[1] ?? 0;
      const rssLast = rss[full.length - 1] ?? rss.at(-1) ?? 0;
      const growth = rssSecond === 0 ? Infinity : (rssLast - rssSecond) / rssSecond;
      const calls = windows.reduce((a, w) => a + (w?.length ?? 0), 0);
      check.expect(errors.length === 0, `${errors.length} calls failed, e.g. ${errors.slice(0, 3).join(" | ")}`);
      if (ctx.mode === "full") check.expect(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)} % from the second window to the last`);
      const rule = latencyRule[ctx.mode];
      check.expect(
        rule.of(last) <= rule.factor * rule.of(second),
        `${rule.name} ${rule.of(last).toFixed(2)} ms in the last window against ${rule.of(second).toFixed(2)} ms in the second (limit ${rule.factor}×)`,
      );
      check.expect(larder.alive(), "Larder exited");
      return check.result({
        calls,
        "calls/s": Math.round(calls / shape.seconds),
        "failed calls": errors.length,
        "p50 per window (ms)": full.map((w) => p50(w ?? []).toFixed(1)).join(" "),
        "p99 per window (ms)": full.map((w) => p99(w ?? []).toFixed(1)).join(" "),
        "RSS peak per window (MiB)": rss.slice(0, full.length).map((b) => (b / 1048576).toFixed(0)).join(" "),
        "RSS peak growth, second window to last": `${(growth * 100).toFixed(1)} %`,
      });
    } finally {
      clearInterval(sampler);
      await Promise.all(loops);
      await Promise.all(caches.map((c) => c.close()));
      await larder.stop();
      await redis.stop();
    }
  },
};
