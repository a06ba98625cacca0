import { describe, expect, it } from "vitest";
import { createMemoryStore, type StoredValue } from "../../server/index.js";

const value = (s: string): StoredValue => ({ kind: "json", json: JSON.stringify(s) });
const always = { mode: "always" } as const;

describe("memory store: bounds and background expiry", () => {
  it("evicts the least recently used entries past maxEntries", async () => {
    const store = createMemoryStore({ maxEntries: 3 });
    for (const key of ["a", "b", "c"]) await store.set("ns", { key, value: value(key), expiry: { never: true }, condition: always });
    await store.get("ns", "a"); // a is now the most recent; b the least
    await store.set("ns", { key: "d", value: value("d"), expiry: { never: true }, condition: always });
    expect((await store.getMany("ns", ["a", "b", "c", "d"])).map((e) => e !== undefined)).toEqual([true, false, true, true]);
    await store.close();
  });

  it("evicts past maxBytes, across namespaces", async () => {
    const store = createMemoryStore({ maxBytes: 3 * (1000 + 200) });
    const big: StoredValue = { kind: "binary", binary: new Uint8Array(1000) };
    for (const [i, ns] of ["x", "y", "z", "w"].entries()) {
      await store.set(ns, { key: `k${i}`, value: big, expiry: { never: true }, condition: always });
    }
    expect(await store.get("x", "k0")).toBeUndefined();
    expect(await store.get("w", "k3")).toBeDefined();
    await store.close();
  });

  it("sweeps expired entries in the background, not only on access", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now, sweepIntervalMs: 10, maxEntries: 2 });
    await store.set("ns", { key: "old", value: value("x"), expiry: { ttlMs: 100 }, condition: always });
    await store.set("ns", { key: "keep", value: value("y"), expiry: { never: true }, condition: always });
    now += 200;
    await new Promise((r) => setTimeout(r, 50));
    // Had "old" not been swept, this write would evict "keep" (the LRU one).
    await store.set("ns", { key: "new", value: value("z"), expiry: { never: true }, condition: always });
    expect(await store.get("ns", "keep")).toBeDefined();
    await store.close();
  });

  it("keeps its own copy of binary values", async () => {
    const store = createMemoryStore();
    const bytes = new Uint8Array([1, 2, 3]);
    await store.set("ns", { key: "b", value: { kind: "binary", binary: bytes }, expiry: { never: true }, condition: always });
    bytes[0] = 9;
    const got = await store.get("ns", "b");
    expect(got?.value.kind === "binary" && Array.from(got.value.binary)).toEqual([1, 2, 3]);
    await store.close();
  });
});
