/**
 * Writers through the TypeScript SDK, as functions would write: each write
 * is a distinct key with a known value, so that every acknowledged write can
 * be read back afterwards, and each failure is kept with its code and how
 * long it took.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { createCache, LarderError, type Cache } from "../sdk/ts/src/index.js";

/** What the writers saw. */
export interface WriteLog {
  /** Keys whose Set was acknowledged, with the value written. */
  readonly acked: Map<string, number>;
  /** Failed calls: when (ms since the start), the code name, and how long the call took. */
  readonly failures: { at: number; code: string; ms: number }[];
  /** `performance.now()` of every acknowledged write, to find gaps. */
  readonly ackTimes: number[];
}

/** Writers that run until stopped. */
export interface Writers {
  readonly log: WriteLog;
  /** Stops the writers and waits for their last calls. */
  stop(): Promise<void>;
}

/**
 * Starts `count` writers against `url`, each in a loop of Sets of new keys.
 * The SDK does not retry, so that every failure is seen as it happened.
 */
export function startWriters(url: string, namespace: string, count: number): Writers {
  const log: WriteLog = { acked: new Map(), failures: [], ackTimes: [] };
  const started = performance.now();
  let running = true;
  const caches: Cache[] = [];
  const loops = Array.from({ length: count }, async (_, w) => {
    const cache = createCache({ url, namespace, retries: 0, timeoutMs: 5000 });
    caches.push(cache);
    for (let n = 0; running; n++) {
      const key = `w${w}:${n}`;
      const t0 = performance.now();
      try {
        await cache.set(key, n, 600);
        log.acked.set(key, n);
        log.ackTimes.push(performance.now());
      } catch (err) {
        const code = err instanceof LarderError ? err.codeName : String(err);
        log.failures.push({ at: t0 - started, code, ms: performance.now() - t0 });
        // A failing backend answers at once; don't spin on it.
        await sleep(20);
      }
    }
  });
  return {
    log,
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(caches.map((c) => c.close()));
    },
  };
}

/** Reads every acknowledged key back; returns the keys missing or changed. */
export async function lostWrites(url: string, namespace: string, acked: ReadonlyMap<string, number>): Promise<string[]> {
  const cache = createCache({ url, namespace, timeoutMs: 30_000 });
  try {
    const keys = [...acked.keys()];
    const lost: string[] = [];
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const got = await cache.getMany<number>(batch);
      for (const key of batch) if (got.get(key) !== acked.get(key)) lost.push(key);
    }
    return lost;
  } finally {
    await cache.close();
  }
}
