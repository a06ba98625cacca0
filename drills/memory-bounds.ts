/**
 * Drill: the memory store written far past its `maxBytes` under load.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createCache, LarderError } from "../sdk/ts/src/index.js";
import { Promises, type Drill } from "./drill.js";
import { startLarder } from "./larder-process.js";

const maxBytes = 64 * 1024 * 1024;
/**
 * What the process may hold for a store bound of `maxBytes`: Node's own
 * 80-ish MiB, and garbage not yet collected. Evicted values die in V8's old
 * space, which grows to a few times its live data before a full collection:
 * measured, RSS saw-toothed between 210 and 440 MiB for a 64 MiB bound with
 * 1.2 GB written in 60 s, and came back down after every collection.
 */
const rssLimitBytes = 5 * maxBytes + 200 * 1024 * 1024;
const valueBytes = 10 * 1024;
const seconds = { quick: 6, full: 60 };

export const memoryBounds: Drill = {
  id: "memory-bounds",
  promise: `writes of 10 KiB values far past memory.maxBytes (64 MiB) under 8 writers: RSS stays within 5 × maxBytes + 200 MiB (${rssLimitBytes / 1048576} MiB; the rest is garbage that V8 collects late), LRU evicts the oldest, and no write fails`,
  async run(ctx) {
    const config = join(ctx.workDir, "memory.json");
    writeFileSync(config, JSON.stringify({ memory: { maxBytes, maxEntries: 10_000_000 } }));
    const larder = await startLarder(ctx.root, "larder", { LARDER_CONFIG: config });
    const check = new Promises();
    const value = "x".repeat(valueBytes - 2);
    let running = true;
    let written = 0;
    const errors: string[] = [];
    let peakRss = larder.rssBytes();
    const startRss = peakRss;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const rss = larder.rssBytes();
      peakRss = Math.max(peakRss, rss);
      samples.push(rss);
    }, 100);
    const caches = Array.from({ length: 8 }, () => createCache({ url: larder.url, namespace: "drill-memory", retries: 0 }));
    const lastKey: string[] = [];
    const loops = caches.map(async (cache, w) => {
      for (let n = 0; running; n++) {
        try {
          await cache.set(`w${w}:${n}`, value, 600);
          lastKey[w] = `w${w}:${n}`;
          written++;
        } catch (err) {
          errors.push(err instanceof LarderError ? err.codeName : String(err));
        }
      }
    });
    try {
      await sleep(seconds[ctx.mode] * 1000);
      running = false;
      await Promise.all(loops);
      clearInterval(sampler);
      const probe = caches[0];
      const first = probe === undefined ? null : await probe.get("w0:0");
      // Each writer's newest entry: the last to be evicted.
      const newest = await Promise.all(lastKey.map((key) => probe?.get(key) ?? null));
      const writtenBytes = written * valueBytes;
      check.expect(writtenBytes > 2 * maxBytes, `only ${(writtenBytes / 1048576).toFixed(0)} MiB written: not far enough past the bound to show it`);
      check.expect(peakRss <= rssLimitBytes, `peak RSS ${(peakRss / 1048576).toFixed(0)} MiB is over ${rssLimitBytes / 1048576} MiB`);
      check.expect(first === null, "the oldest entry survived: LRU did not evict it");
      check.expect(newest.length === 8 && newest.every((v) => v !== null), "a writer's newest entry is gone");
      check.expect(errors.length === 0, `${errors.length} writes failed (${[...new Set(errors)].join(", ")})`);
      check.expect(larder.alive(), "Larder exited");
      return check.result({
        "written": `${written} × 10 KiB = ${(writtenBytes / 1048576).toFixed(0)} MiB`,
        "RSS at start": `${(startRss / 1048576).toFixed(0)} MiB`,
        "peak RSS": `${(peakRss / 1048576).toFixed(0)} MiB`,
        "RSS at the end": `${((samples.at(-1) ?? 0) / 1048576).toFixed(0)} MiB`,
        "RSS each second": samples.filter((_, i) => i % 10 === 9).map((b) => (b / 1048576).toFixed(0)).join(" "),
        "RSS limit": `${rssLimitBytes / 1048576} MiB`,
        "failed writes": errors.length,
      });
    } finally {
      running = false;
      clearInterval(sampler);
      await Promise.all(caches.map((c) => c.close()));
      await larder.stop();
    }
  },
};
