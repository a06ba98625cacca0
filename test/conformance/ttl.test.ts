import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { conformanceKinds } from "../harness/larder.js";
import { expectCode, json, ms, sleep, useLarder } from "../harness/fixture.js";

const ttl = (value: bigint) => ({ case: "ttlMs" as const, value });

describe.each(conformanceKinds)("conformance: TTL [%s store]", (kind) => {
  const larder = useLarder(kind, { namespacePolicies: { strict: { allowNoExpiry: false, maxTtlMs: 60_000 } } });

  it("applies the 3600 s default when a write gives no TTL", async () => {
    const c = larder.client();
    const res = await c.set({ key: "k", value: json(1) });
    const left = ms(res.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(3_595_000);
    expect(left).toBeLessThanOrEqual(3_600_000);
  });

  it("expires entries after their TTL, with millisecond precision", async () => {
    const c = larder.client();
    await c.set({ key: "short", value: json("x"), expiry: ttl(250n) });
    await c.set({ key: "long", value: json("y"), expiry: ttl(5000n) });
    expect((await c.get({ key: "short" })).found).toBe(true);
    await sleep(400);
    expect((await c.get({ key: "short" })).found).toBe(false);
    expect((await c.has({ key: "short" })).found).toBe(false);
    expect((await c.getMany({ keys: ["short", "long"] })).items.map((i) => i.found)).toEqual([false, true]);
    expect((await c.keys({})).keys).toEqual(["long"]);
    expect((await c.delete({ keys: ["short"] })).deleted).toBe(0n);
  });

  it("an expired key is absent for conditional writes", async () => {
    const c = larder.client();
    await c.set({ key: "k", value: json(1), expiry: ttl(100n) });
    await sleep(200);
    const res = await c.set({ key: "k", value: json(2), mode: 2 });
    expect(res).toMatchObject({ applied: true, created: true });
  });

  it("keeps entries without expiry only when asked explicitly", async () => {
    const c = larder.client();
    const res = await c.set({ key: "forever", value: json(1), expiry: { case: "noExpiry", value: true } });
    expect(res.expiresAt).toBeUndefined();
    expect((await c.get({ key: "forever" })).metadata?.expiresAt).toBeUndefined();
    await expectCode(
      c.set({ key: "k", value: json(1), expiry: { case: "noExpiry", value: false } }),
      Code.InvalidArgument,
      /no_expiry: must be true/,
    );
  });

  it("lets a namespace policy forbid no-expiry and lower the maximum", async () => {
    const c = larder.client({ namespace: "strict" });
    await expectCode(
      c.set({ key: "k", value: json(1), expiry: { case: "noExpiry", value: true } }),
      Code.InvalidArgument,
      /no_expiry: the namespace policy forbids/,
    );
    await expectCode(c.set({ key: "k", value: json(1), expiry: ttl(60_001n) }), Code.InvalidArgument, /ttl_ms: .*60000 ms \(1 minute\)/);
  });

  it("rejects a TTL that is zero, negative or over the maximum", async () => {
    const c = larder.client();
    await expectCode(c.set({ key: "k", value: json(1), expiry: ttl(0n) }), Code.InvalidArgument, /ttl_ms: must be positive/);
    await expectCode(c.set({ key: "k", value: json(1), expiry: ttl(-5n) }), Code.InvalidArgument, /ttl_ms: must be positive/);
    await expectCode(
      c.set({ key: "k", value: json(1), expiry: ttl(30n * 86_400_000n + 1n) }),
      Code.InvalidArgument,
      /ttl_ms: 2592000001 exceeds the maximum TTL of 2592000000 ms \(30 days\)/,
    );
    await expectCode(
      c.setMany({ entries: [{ key: "a", value: json(1), expiry: ttl(-1n) }] }),
      Code.InvalidArgument,
      /ttl_ms/,
    );
    expect((await c.has({ key: "k" })).found).toBe(false);
  });

  it("Get with touch resets the expiry (sliding expiry)", async () => {
    const c = larder.client();
    await c.set({ key: "s", value: json(1), expiry: ttl(300n) });
    await sleep(200);
    const touched = await c.get({ key: "s", touchTtlMs: 600n });
    expect(touched.found).toBe(true);
    expect(ms(touched.metadata?.expiresAt) - Date.now()).toBeGreaterThan(450);
    await sleep(300);
    expect((await c.get({ key: "s" })).found).toBe(true);
    await sleep(450);
    expect((await c.get({ key: "s" })).found).toBe(false);
    await expectCode(c.get({ key: "s", touchTtlMs: 0n }), Code.InvalidArgument, /touch_ttl_ms/);
  });

  describe("Extend", () => {
    it("adds to the remaining TTL and reports the new expiry", async () => {
      const c = larder.client();
      const set = await c.set({ key: "e", value: json(1), expiry: ttl(300n) });
      const res = await c.extend({ key: "e", addMs: 1000n });
      expect(res.found).toBe(true);
      expect(ms(res.expiresAt) - ms(set.expiresAt)).toBe(1000);
      await sleep(500);
      expect((await c.get({ key: "e" })).found).toBe(true);
    });

    it("answers found = false for a missing key", async () => {
      expect(await larder.client().extend({ key: "missing", addMs: 1000n })).toMatchObject({ found: false });
    });

    it("leaves an entry without expiry without expiry", async () => {
      const c = larder.client();
      await c.set({ key: "f", value: json(1), expiry: { case: "noExpiry", value: true } });
      const res = await c.extend({ key: "f", addMs: 1000n });
      expect(res.found).toBe(true);
      expect(res.expiresAt).toBeUndefined();
    });

    it("refuses to pass the maximum TTL and changes nothing", async () => {
      const c = larder.client();
      const set = await c.set({ key: "e", value: json(1), expiry: ttl(29n * 86_400_000n) });
      await expectCode(c.extend({ key: "e", addMs: 2n * 86_400_000n }), Code.InvalidArgument, /add_ms: .*maximum TTL of 2592000000 ms \(30 days\)/);
      expect(ms((await c.get({ key: "e" })).metadata?.expiresAt)).toBe(ms(set.expiresAt));
      await expectCode(c.extend({ key: "e", addMs: 0n }), Code.InvalidArgument, /add_ms: must be positive/);
    });
  });
});
