import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { SetMode } from "../../server/gen/larder/v1/cache_pb.js";
import { conformanceKinds } from "../harness/larder.js";
import { expectCode, json, ms, useLarder } from "../harness/fixture.js";

describe.each(conformanceKinds)("conformance: values and metadata [%s store]", (kind) => {
  const larder = useLarder(kind, { ttlPolicy: { trackReads: true } });

  it("round-trips a JSON document with its metadata", async () => {
    const c = larder.client();
    const before = Date.now();
    const set = await c.set({ key: "user:1", value: json({ name: "Alice", plan: "pro" }), expiry: { case: "ttlMs", value: 60_000n } });
    expect(set).toMatchObject({ applied: true, created: true });
    expect(set.version).toBeGreaterThan(0n);
    const got = await c.get({ key: "user:1" });
    expect(got.found).toBe(true);
    expect(got.value?.kind).toEqual({ case: "json", value: JSON.stringify({ name: "Alice", plan: "pro" }) });
    const meta = got.metadata;
    expect(meta?.version).toBe(set.version);
    expect(ms(meta?.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(ms(meta?.updatedAt)).toBe(ms(meta?.createdAt));
    expect(ms(meta?.expiresAt) - ms(meta?.createdAt)).toBeGreaterThanOrEqual(59_000);
    expect(ms(meta?.expiresAt) - ms(meta?.createdAt)).toBeLessThanOrEqual(60_000);
    expect(ms(meta?.lastReadAt)).toBeGreaterThanOrEqual(ms(meta?.createdAt));
  });

  it("round-trips binary values byte for byte", async () => {
    const c = larder.client();
    const bytes = new Uint8Array([0, 255, 1, 128, 0x7b, 0x22, 10, 0]);
    await c.set({ key: "bin", value: { kind: { case: "binary", value: bytes } } });
    const got = await c.get({ key: "bin" });
    expect(got.value?.kind.case).toBe("binary");
    expect(Array.from(got.value?.kind.value as Uint8Array)).toEqual(Array.from(bytes));
  });

  it("answers a miss with found = false, not an error", async () => {
    const got = await larder.client().get({ key: "nope" });
    expect(got.found).toBe(false);
    expect(got.value).toBeUndefined();
    expect(got.metadata).toBeUndefined();
  });

  it("keeps created_at on overwrite and moves updated_at and version", async () => {
    const c = larder.client();
    const first = await c.set({ key: "k", value: json(1) });
    await new Promise((r) => setTimeout(r, 20));
    const second = await c.set({ key: "k", value: json(2) });
    expect(second).toMatchObject({ applied: true, created: false });
    expect(second.version).toBeGreaterThan(first.version);
    const got = await c.get({ key: "k" });
    expect(got.value?.kind.value).toBe("2");
    expect(ms(got.metadata?.updatedAt)).toBeGreaterThan(ms(got.metadata?.createdAt));
  });

  it("records last_read_at to the second when the namespace tracks reads", async () => {
    const c = larder.client();
    await c.set({ key: "r", value: json("x") });
    const first = await c.get({ key: "r" });
    const r1 = ms(first.metadata?.lastReadAt);
    expect(r1).toBeGreaterThanOrEqual(ms(first.metadata?.createdAt));
    // At most one recorded read a second: a read right after keeps it.
    const r2 = ms((await c.get({ key: "r" })).metadata?.lastReadAt);
    expect(r2 === r1 || r2 - r1 >= 1000, `${r2} after ${r1}`).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    const later = await c.getMany({ keys: ["r"] });
    expect(ms(later.items[0]?.metadata?.lastReadAt)).toBeGreaterThanOrEqual(r1 + 1000);
  });

  it("accepts any character in a key, literally", async () => {
    const c = larder.client();
    const keys = ["a*b", "[x]", "?", "\\", "ключ", "🔑:emoji", "with space", "{tag}", "a:e:b", "\u0000nul"];
    for (const [i, key] of keys.entries()) await c.set({ key, value: json(i) });
    for (const [i, key] of keys.entries()) {
      expect((await c.get({ key })).value?.kind.value, key).toBe(String(i));
    }
  });

  describe("conditions", () => {
    it("IF_ABSENT writes only a new key", async () => {
      const c = larder.client();
      const first = await c.set({ key: "k", value: json(1), mode: SetMode.IF_ABSENT });
      expect(first).toMatchObject({ applied: true, created: true });
      const second = await c.set({ key: "k", value: json(2), mode: SetMode.IF_ABSENT });
      expect(second).toMatchObject({ applied: false, created: false, version: first.version });
      expect((await c.get({ key: "k" })).value?.kind.value).toBe("1");
    });

    it("IF_PRESENT writes only an existing key", async () => {
      const c = larder.client();
      const miss = await c.set({ key: "k", value: json(1), mode: SetMode.IF_PRESENT });
      expect(miss).toMatchObject({ applied: false, created: false, version: 0n });
      expect((await c.has({ key: "k" })).found).toBe(false);
      await c.set({ key: "k", value: json(1) });
      const hit = await c.set({ key: "k", value: json(2), mode: SetMode.IF_PRESENT });
      expect(hit).toMatchObject({ applied: true, created: false });
    });

    it("IF_VERSION is a compare-and-set", async () => {
      const c = larder.client();
      const v1 = (await c.set({ key: "k", value: json(1) })).version;
      const stale = await c.set({ key: "k", value: json(9), mode: SetMode.IF_VERSION, ifVersion: v1 + 100n });
      expect(stale).toMatchObject({ applied: false, version: v1 });
      const ok = await c.set({ key: "k", value: json(2), mode: SetMode.IF_VERSION, ifVersion: v1 });
      expect(ok.applied).toBe(true);
      expect(ok.version).toBeGreaterThan(v1);
      const again = await c.set({ key: "k", value: json(3), mode: SetMode.IF_VERSION, ifVersion: v1 });
      expect(again.applied).toBe(false);
      const missing = await c.set({ key: "other", value: json(1), mode: SetMode.IF_VERSION, ifVersion: v1 });
      expect(missing).toMatchObject({ applied: false, version: 0n });
    });

    it("never repeats a version, even after delete and re-create", async () => {
      const c = larder.client();
      const seen: bigint[] = [];
      for (let i = 0; i < 5; i++) {
        seen.push((await c.set({ key: "k", value: json(i) })).version);
        await c.delete({ keys: ["k"] });
      }
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] as bigint);
    });
  });

  it("Has tells existence without reading", async () => {
    const c = larder.client();
    await c.set({ key: "h", value: json(true), expiry: { case: "ttlMs", value: 5000n } });
    const has = await c.has({ key: "h" });
    expect(has.found).toBe(true);
    expect(ms(has.expiresAt)).toBeGreaterThan(Date.now());
    expect((await c.get({ key: "h" })).metadata?.lastReadAt).toBeDefined();
    expect((await c.has({ key: "missing" })).found).toBe(false);
  });

  it("Delete removes one or many and counts those that existed", async () => {
    const c = larder.client();
    await c.setMany({ entries: ["a", "b", "c"].map((key) => ({ key, value: json(key) })) });
    expect((await c.delete({ keys: ["a"] })).deleted).toBe(1n);
    expect((await c.delete({ keys: ["a"] })).deleted).toBe(0n);
    expect((await c.delete({ keys: ["b", "c", "zz", "b"] })).deleted).toBe(2n);
    expect((await c.has({ key: "c" })).found).toBe(false);
  });

  it("GetMany answers in request order with per-key results", async () => {
    const c = larder.client();
    await c.setMany({ entries: [1, 2, 3].map((n) => ({ key: `k${n}`, value: json(n) })) });
    const res = await c.getMany({ keys: ["k3", "missing", "k1", "k3", "k2"] });
    expect(res.items.map((i) => [i.key, i.found, i.value?.kind.value])).toEqual([
      ["k3", true, "3"],
      ["missing", false, undefined],
      ["k1", true, "1"],
      ["k3", true, "3"],
      ["k2", true, "2"],
    ]);
    expect(res.items[0]?.metadata?.version).toBeGreaterThan(0n);
  });

  it("GetMany takes 1000 keys in one call", async () => {
    const c = larder.client();
    const keys = Array.from({ length: 1000 }, (_, i) => `many:${i}`);
    await c.setMany({ entries: keys.map((key, i) => ({ key, value: json(i) })) });
    const res = await c.getMany({ keys });
    expect(res.items).toHaveLength(1000);
    expect(res.items.every((item, i) => item.found && item.value?.kind.value === String(i))).toBe(true);
  });

  it("SetMany writes each entry with its own TTL", async () => {
    const c = larder.client();
    await c.set({ key: "old", value: json(0) });
    const res = await c.setMany({
      entries: [
        { key: "old", value: json(1), expiry: { case: "ttlMs", value: 10_000n } },
        { key: "new", value: json(2), expiry: { case: "noExpiry", value: true } },
        { key: "dflt", value: json(3) },
      ],
    });
    expect(res.results.map((r) => [r.key, r.created])).toEqual([["old", false], ["new", true], ["dflt", true]]);
    const [old, fresh, dflt] = (await c.getMany({ keys: ["old", "new", "dflt"] })).items;
    expect(ms(old?.metadata?.expiresAt) - Date.now()).toBeLessThanOrEqual(10_000);
    expect(fresh?.metadata?.expiresAt).toBeUndefined();
    expect(ms(dflt?.metadata?.expiresAt) - Date.now()).toBeGreaterThan(3_590_000);
  });

  describe("Increment", () => {
    it("creates with the default TTL and adds atomically under 200 concurrent calls", async () => {
      const c = larder.client();
      const results = await Promise.all(Array.from({ length: 200 }, () => c.increment({ key: "n" })));
      const values = results.map((r) => r.value).sort((a, b) => (a < b ? -1 : 1));
      expect(values).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const got = await c.get({ key: "n" });
      expect(got.value?.kind).toEqual({ case: "json", value: "200" });
      expect(ms(got.metadata?.expiresAt) - Date.now()).toBeGreaterThan(3_590_000);
    });

    it("takes a delta, keeps an existing expiry and reads back as JSON", async () => {
      const c = larder.client();
      await c.set({ key: "n", value: json(10), expiry: { case: "ttlMs", value: 50_000n } });
      const res = await c.increment({ key: "n", delta: -15n, expiry: { case: "ttlMs", value: 999_999n } });
      expect(res).toMatchObject({ value: -5n, created: false });
      expect(ms(res.expiresAt) - Date.now()).toBeLessThanOrEqual(50_000);
      const big = await c.increment({ key: "big", delta: 9_007_199_254_740_993n });
      expect(big.value).toBe(9_007_199_254_740_993n);
    });

    it("refuses values that are not integers and results beyond int64", async () => {
      const c = larder.client();
      await c.set({ key: "s", value: json("text") });
      await expectCode(c.increment({ key: "s" }), Code.FailedPrecondition, /key: .*not an integer/);
      await c.set({ key: "f", value: json(1.5) });
      await expectCode(c.increment({ key: "f" }), Code.FailedPrecondition, /not an integer/);
      await c.set({ key: "b", value: { kind: { case: "binary", value: new Uint8Array([49]) } } });
      await expectCode(c.increment({ key: "b" }), Code.FailedPrecondition, /not an integer/);
      await c.increment({ key: "max", delta: 9_223_372_036_854_775_807n });
      await expectCode(c.increment({ key: "max" }), Code.OutOfRange, /overflow/);
      expect((await c.get({ key: "max" })).value?.kind.value).toBe("9223372036854775807");
    });
  });
});

describe.each(conformanceKinds)("conformance: reads without read tracking [%s store]", (kind) => {
  const larder = useLarder(kind);

  it("leaves last_read_at unset on Get and GetMany", async () => {
    const c = larder.client();
    await c.set({ key: "k", value: json(1) });
    const got = await c.get({ key: "k" });
    expect(got.found).toBe(true);
    expect(got.metadata?.lastReadAt).toBeUndefined();
    const many = await c.getMany({ keys: ["k", "missing"] });
    expect(many.items.map((i) => i.found)).toEqual([true, false]);
    expect(many.items[0]?.metadata?.lastReadAt).toBeUndefined();
  });
});
