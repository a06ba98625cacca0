import { afterAll, describe, expect, it } from "vitest";
import { createCache as createCacheManager } from "cache-manager";
// cache-manager 7 is built on keyv 5 (it reads entries with keyv 5's
// get(key, { raw: true }), which keyv 6 no longer has), so its stores are
// keyv 5 instances; the adapter serves both.
import Keyv from "keyv-5";
import { createCache } from "../src/index.js";
import { createKeyvStore } from "../src/keyv.js";
import { freshNamespace } from "../../../test/harness/larder.js";
import { useSdkServers } from "./fixture.js";

// One store kind is enough: cache-manager only talks to Keyv, and the Keyv
// store itself runs against both in keyv.test.ts.
describe("cache-manager over @larder/sdk/keyv", () => {
  const { url, track } = useSdkServers("memory");
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((close) => close()));
  });

  it("wraps, reads, writes and deletes through a live server", async () => {
    const namespace = freshNamespace("cache-manager");
    const manager = createCacheManager({
      // useKeyPrefix: false leaves the namespace prefix to the adapter, as
      // keyv 6 does; keyv 5 would otherwise prefix the key a second time.
      stores: [new Keyv({ store: createKeyvStore({ url: url(), namespace }), namespace: "app", useKeyPrefix: false })],
    });
    closers.push(() => manager.disconnect().then(() => undefined));
    const direct = createCache({ url: url(), namespace });
    track(direct);

    let computed = 0;
    const compute = async (): Promise<{ total: number }> => ({ total: ++computed });
    expect(await manager.wrap("report", compute, 60_000)).toEqual({ total: 1 });
    expect(await manager.wrap("report", compute, 60_000)).toEqual({ total: 1 });
    expect(computed).toBe(1);
    // The entry is in Larder, under Keyv's namespace, with the TTL asked for.
    const entry = await direct.getEntry("app:report");
    expect(entry).not.toBeNull();
    const ttlMs = (entry?.expiresAt?.getTime() ?? 0) - Date.now();
    expect(ttlMs).toBeGreaterThan(50_000);
    expect(ttlMs).toBeLessThanOrEqual(61_000);

    await manager.set("user:1", { name: "Alice" }, 60_000);
    expect(await manager.get("user:1")).toEqual({ name: "Alice" });
    expect(await manager.mget(["user:1", "missing"])).toEqual([{ name: "Alice" }, undefined]);
    expect(await manager.del("user:1")).toBe(true);
    expect(await manager.get("user:1")).toBeUndefined();
    expect(await direct.has("app:user:1")).toBe(false);
  });
});
