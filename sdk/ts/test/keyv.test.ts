import * as vitest from "vitest";
import { afterAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import Keyv from "keyv";
import keyvTestSuite, { keyvIteratorTests } from "@keyv/test-suite";
import { createCache } from "../src/index.js";
import { createKeyvStore, type KeyvStoreOptions, type LarderKeyvStore } from "../src/keyv.js";
import { freshNamespace, storeKinds } from "../../../test/harness/larder.js";
import { useSdkServers } from "./fixture.js";

/**
 * @keyv/test-suite 2.1.2 (the newest published) was written for keyv 5, whose
 * `delete(keys[])` resolves to one boolean, true when every key existed;
 * keyv 6 resolves to one boolean per key, which is always truthy as an
 * array. This subclass folds keyv 6's per-key answers the keyv 5 way, so the
 * suite's deleteMany assertions still check what this adapter reports for
 * each key. Everything else is keyv 6 as published.
 */
class KeyvForSuite extends Keyv {
  override delete(key: string): Promise<boolean>;
  override delete(keys: string[]): Promise<boolean[]>;
  override async delete(key: string | string[]): Promise<boolean | boolean[]> {
    if (!Array.isArray(key)) return super.delete(key);
    const results = await super.deleteMany(key);
    return (results.length > 0 && results.every(Boolean)) as unknown as boolean[];
  }
}

describe.each(storeKinds)("@larder/sdk/keyv [%s store]", (kind) => {
  const { url } = useSdkServers(kind);
  const opened: LarderKeyvStore[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.disconnect()));
  });

  /** A store on the test server; `namespace` is the Larder namespace. */
  const storeIn = (namespace: string, options: Partial<KeyvStoreOptions> = {}): LarderKeyvStore => {
    const store = createKeyvStore({ url: url(), namespace, ...options });
    opened.push(store);
    return store;
  };

  describe("@keyv/test-suite", () => {
    // One Larder namespace for the suite: its Keyv instances share data the
    // way it expects, and other tests cannot see it.
    const namespace = freshNamespace("keyv-suite");
    const store = (): LarderKeyvStore => storeIn(namespace);
    // The suite is typed against the vitest 4 it depends on; it only calls
    // describe-level hooks, it and expect, which this vitest has too.
    const test = vitest as unknown as Parameters<typeof keyvTestSuite>[0];
    keyvTestSuite(test, KeyvForSuite as unknown as typeof Keyv, store);
    keyvIteratorTests(test, KeyvForSuite as unknown as typeof Keyv, store);
  });

  describe("keyv 6 behaviour", () => {
    it("keeps millisecond TTLs and lets Larder expire them", async () => {
      const keyv = new Keyv({ store: storeIn(freshNamespace("keyv")) });
      await keyv.set("short", "gone soon", 300);
      await keyv.set("long", "stays", 60_000);
      expect(await keyv.get("short")).toBe("gone soon");
      await sleep(450);
      // Read through a store without Keyv's own expiry check: Larder itself
      // must have dropped the entry.
      const raw = new Keyv({ store: keyv.store, checkExpired: false });
      expect(await raw.get("short")).toBeUndefined();
      expect(await raw.get("long")).toBe("stays");
    });

    it("answers deleteMany and hasMany per key, and getMany in order", async () => {
      const keyv = new Keyv({ store: storeIn(freshNamespace("keyv")), namespace: "n" });
      await keyv.setMany([
        { key: "a", value: 1 },
        { key: "b", value: 2, ttl: 60_000 },
      ]);
      expect(await keyv.get(["b", "missing", "a"])).toEqual([2, undefined, 1]);
      expect(await keyv.hasMany(["a", "missing", "b"])).toEqual([true, false, true]);
      expect(await keyv.deleteMany(["a", "missing", "b"])).toEqual([true, false, true]);
      expect(await keyv.get(["a", "b"])).toEqual([undefined, undefined]);
    });

    it("prefixes keys with Keyv's namespace and clears only that namespace", async () => {
      const ns = freshNamespace("keyv");
      const users = new Keyv({ store: storeIn(ns), namespace: "users" });
      const orders = new Keyv({ store: storeIn(ns), namespace: "orders" });
      const plain = new Keyv({ store: storeIn(ns) });
      await users.set("1", "alice");
      await orders.set("1", "order");
      await plain.set("loose", "x");
      const cache = createCache({ url: url(), namespace: ns });
      try {
        expect((await cache.keys()).sort()).toEqual(["loose", "orders:1", "users:1"]);
        await users.clear();
        expect((await cache.keys()).sort()).toEqual(["loose", "orders:1"]);
        expect([...(await toArray(orders.iterator()))]).toEqual([["1", "order"]]);
        await plain.clear(); // no Keyv namespace: the whole Larder namespace
        expect(await cache.keys()).toEqual([]);
      } finally {
        await cache.close();
      }
    });

    it("clears and iterates namespaces with glob characters, over many pages", async () => {
      const ns = freshNamespace("keyv");
      const odd = new Keyv({ store: storeIn(ns), namespace: "a*[b]?" });
      const other = new Keyv({ store: storeIn(ns), namespace: "aX[b]?" });
      await odd.setMany(Array.from({ length: 250 }, (_, i) => ({ key: `k${i}`, value: i })));
      await other.set("k1", "other");
      const seen = new Map(await toArray(odd.iterator()));
      expect(seen.size).toBe(250);
      expect(seen.get("k249")).toBe(249);
      await odd.clear();
      expect(await toArray(odd.iterator())).toEqual([]);
      expect(await other.get("k1")).toBe("other");
    });

    it("stores Keyv's serialized text as a JSON string by default", async () => {
      const ns = freshNamespace("keyv");
      const keyv = new Keyv({ store: storeIn(ns), namespace: "n" });
      await keyv.set("user", { name: "Alice" });
      const cache = createCache({ url: url(), namespace: ns });
      try {
        const stored = await cache.get<string>("n:user");
        expect(typeof stored).toBe("string");
        expect(JSON.parse(stored ?? "")).toEqual({ value: { name: "Alice" } });
        // A value another SDK wrote is still readable through Keyv, unless
        // it is a string (Keyv would try to parse it as its own text).
        await cache.set("n:foreign", { from: "python" });
        expect(await keyv.get("foreign")).toEqual({ from: "python" });
      } finally {
        await cache.close();
      }
    });

    it("stores plain JSON with valueFormat json and serialization off", async () => {
      const ns = freshNamespace("keyv");
      const keyv = new Keyv({ store: storeIn(ns, { valueFormat: "json" }), namespace: "n", serialization: false });
      const cache = createCache({ url: url(), namespace: ns });
      try {
        await keyv.set("user", { name: "Alice" }, 60_000);
        await keyv.set("greeting", "Hello!");
        await keyv.set("nothing", null);
        expect(await cache.get("n:user")).toEqual({ name: "Alice" });
        expect(await cache.get("n:greeting")).toBe("Hello!");
        expect((await cache.getEntry("n:greeting"))?.expiresAt).toBeNull();
        await cache.set("n:from-go", [1, 2, 3]);
        expect(await keyv.get("from-go")).toEqual([1, 2, 3]);
        expect(await keyv.get("greeting")).toBe("Hello!");
        expect(await keyv.get(["nothing", "missing", "user"])).toEqual([null, undefined, { name: "Alice" }]);
        expect(await keyv.has("nothing")).toBe(true);
      } finally {
        await cache.close();
      }
    });

    it("refuses a Keyv whose serialization does not match the value format", async () => {
      const errors: unknown[] = [];
      const serializing = new Keyv({ store: storeIn(freshNamespace("keyv"), { valueFormat: "json" }) });
      serializing.on("error", (e) => errors.push(e));
      expect(await serializing.set("k", "v")).toBe(false);
      const raw = new Keyv({ store: storeIn(freshNamespace("keyv")), serialization: false });
      raw.on("error", (e) => errors.push(e));
      expect(await raw.set("k", "v")).toBe(false);
      expect(errors.map((e) => String(e))).toEqual([
        expect.stringMatching(/serialization: false/),
        expect.stringMatching(/valueFormat: "json"/),
      ]);
    });
  });
});

/** Collects an async iterable. */
async function toArray<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
