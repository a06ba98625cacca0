/**
 * The rules that versions and fencing tokens keep without a counter per
 * namespace: a key's version rises on every write and never repeats for it,
 * a lock's fencing token rises with every grant of its name, across delete
 * and re-create, expiry, release and a Redis restart (from its AOF); and
 * neither leaves keys behind for longer than an entry's TTL or a lock's TTL
 * plus the grace period.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore, type Store } from "../../server/index.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

describe("redis store: versions and fencing tokens without a counter", () => {
  let dir: string;
  let server: RedisServer;
  let store: Store;
  let raw: Redis;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "larder-rules-"));
    server = await startRedis(["--appendonly", "yes", "--appendfsync", "always", "--dir", dir]);
    store = createRedisStore({ url: server.url, callTimeoutMs: 1000 });
    raw = new Redis(server.url);
    raw.on("error", () => {});
  });

  afterAll(async () => {
    raw.disconnect();
    await store.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (key: string, ttlMs = 60_000): ReturnType<Store["set"]> =>
    store.set("rules", { key, value: { kind: "json", json: "1" }, expiry: { ttlMs }, condition: { mode: "always" } });

  it("raises a key's version on every write, across delete, expiry and a restart", async () => {
    const seen: number[] = [];
    seen.push((await write("k")).version, (await write("k")).version);
    await store.delete("rules", ["k"]);
    seen.push((await write("k", 30)).version);
    await sleep(60);
    expect(await store.get("rules", "k")).toBeUndefined();
    seen.push((await write("k")).version);
    await server.restart();
    await waitUntilUp(store);
    seen.push((await write("k")).version);
    for (let i = 1; i < seen.length; i++) expect(seen[i], `write ${i}`).toBeGreaterThan(seen[i - 1] as number);
    // Many writes of one key within the same microsecond still rise by one at least.
    const burst = await Promise.all(Array.from({ length: 50 }, () => write("k")));
    const versions = burst.map((b) => b.version).sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(50);
    expect(versions[0]).toBeGreaterThan(seen.at(-1) as number);
  });

  it("raises a lock's fencing token with every grant, across expiry, release and a restart", async () => {
    const grant = async (ttlMs = 60_000): Promise<number> => {
      const out = await store.lock("rules", "job", { token: `t${Math.random()}`, owner: "", ttlMs });
      if (!out.acquired) throw new Error("lock not granted");
      return out.fencingToken;
    };
    const tokens = [await grant(30)];
    await sleep(60);
    tokens.push(await grant());
    const token = (await raw.hget(`larder:{}:5:rules:l:job`, "k")) ?? "";
    expect(await store.unlock("rules", "job", token)).toBe("released");
    tokens.push(await grant(30));
    await sleep(60);
    await server.restart();
    await waitUntilUp(store);
    tokens.push(await grant());
    for (let i = 1; i < tokens.length; i++) expect(tokens[i], `grant ${i}`).toBeGreaterThan(tokens[i - 1] as number);
  });

  it("leaves nothing behind: an entry lives as long as its TTL, a lock its TTL plus 60 s", async () => {
    await write("short", 50);
    const held = await store.lock("rules", "brief", { token: "t", owner: "", ttlMs: 50 });
    expect(held.acquired).toBe(true);
    expect(await raw.pttl("larder:{}:5:rules:e:short")).toBeLessThanOrEqual(50);
    const lockTtl = await raw.pttl("larder:{}:5:rules:l:brief");
    expect(lockTtl).toBeGreaterThan(60_000);
    expect(lockTtl).toBeLessThanOrEqual(60_050);
    // No key per namespace that never expires.
    const forever: string[] = [];
    for (const key of await raw.keys("larder:*")) if ((await raw.pttl(key)) === -1) forever.push(key);
    expect(forever).toEqual([]);
  });
});

/** Waits until the store answers again after a restart. */
async function waitUntilUp(store: Store): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await store.ping();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error("the store did not come back");
}
