import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { Code } from "../src/index.js";
import { storeKinds, transportFor } from "../../../test/harness/larder.js";
import { counter, expectLarderError } from "../../../test/harness/sdk-calls.js";
import { useSdkServers } from "./fixture.js";

describe.each(storeKinds)("@larder/sdk [%s store]", (kind) => {
  const { url, cache } = useSdkServers(kind);

  describe("values", () => {
    it("round-trips JSON values of every kind, typed by the caller", async () => {
      interface UserProfile {
        name: string;
        plan: string;
        tags: string[];
        address: { city: string; zip: number | null };
      }
      const c = cache();
      const profile: UserProfile = { name: "Alice", plan: "pro", tags: ["a", "ü", "😀"], address: { city: "Oslo", zip: null } };
      expect(await c.set<UserProfile>("user:1", profile, 60)).toBe(true);
      const got = await c.get<UserProfile>("user:1");
      expect(got).toEqual(profile);
      expect(got?.address.city).toBe("Oslo");

      const samples: [string, unknown][] = [
        ["string", "Hello!"],
        ["empty string", ""],
        ["number", 42.5],
        ["zero", 0],
        ["negative", -7],
        ["true", true],
        ["false", false],
        ["array", [1, "two", { three: 3 }, null]],
        ["empty object", {}],
      ];
      for (const [key, value] of samples) await c.set(key, value);
      for (const [key, value] of samples) expect(await c.get(key), key).toEqual(value);
      expect(await c.get<string>("string")).toBe("Hello!");
      expect(await c.get<number>("number")).toBe(42.5);
      expect(await c.get<boolean>("false")).toBe(false);
    });

    it("stores null as a value, distinguishable from a miss through has and getEntry", async () => {
      const c = cache();
      await c.set("nothing", null);
      expect(await c.get("nothing")).toBeNull();
      expect(await c.has("nothing")).toBe(true);
      expect((await c.getEntry("nothing"))?.value).toBeNull();
      expect(await c.get("missing")).toBeNull();
      expect(await c.getEntry("missing")).toBeNull();
    });

    it("round-trips binary values as Uint8Array, byte for byte", async () => {
      const c = cache();
      const bytes = new Uint8Array(256).map((_, i) => i);
      await c.set("bin", bytes);
      const got = await c.get<Uint8Array>("bin");
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Array.from(got ?? [])).toEqual(Array.from(bytes));

      await c.set("buf", Buffer.from("{\"not\":\"json\"}"));
      const buf = await c.get<Uint8Array>("buf");
      expect(buf).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(buf ?? []).toString()).toBe("{\"not\":\"json\"}");
    });

    it("serializes like JSON.stringify (Dates become ISO strings)", async () => {
      const c = cache();
      const at = new Date("2024-05-01T12:00:00.000Z");
      await c.set("when", { at });
      expect(await c.get("when")).toEqual({ at: "2024-05-01T12:00:00.000Z" });
    });

    it("returns entries with version and timestamps", async () => {
      const c = cache();
      const before = Date.now();
      await c.set("e", { n: 1 }, 60);
      const first = await c.getEntry<{ n: number }>("e");
      expect(first?.value).toEqual({ n: 1 });
      expect(first?.version).toBeGreaterThan(0);
      expect(first?.createdAt).toBeInstanceOf(Date);
      expect(first?.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(first?.updatedAt.getTime()).toBe(first?.createdAt.getTime());
      const ttlMs = (first?.expiresAt?.getTime() ?? 0) - (first?.updatedAt.getTime() ?? 0);
      expect(ttlMs).toBeGreaterThan(59_000);
      expect(ttlMs).toBeLessThanOrEqual(60_000);
      expect(first?.lastReadAt).toBeInstanceOf(Date);

      await sleep(10);
      await c.set("e", { n: 2 });
      const second = await c.getEntry<{ n: number }>("e");
      expect(second?.version).toBeGreaterThan(first?.version ?? Infinity);
      expect(second?.createdAt.getTime()).toBe(first?.createdAt.getTime());
      // No TTL given: the namespace default of one hour applies.
      const defaultTtl = (second?.expiresAt?.getTime() ?? 0) - (second?.updatedAt.getTime() ?? 0);
      expect(defaultTtl).toBeGreaterThan(3_599_000);
      expect(defaultTtl).toBeLessThanOrEqual(3_600_000);
    });
  });

  describe("set options", () => {
    it("honours noExpiry and fractional TTLs", async () => {
      const c = cache();
      await c.set("forever", 1, { noExpiry: true });
      expect((await c.getEntry("forever"))?.expiresAt).toBeNull();
      await c.set("short", 1, 1.5);
      const e = await c.getEntry("short");
      expect((e?.expiresAt?.getTime() ?? 0) - (e?.updatedAt.getTime() ?? 0)).toBe(1500);
    });

    it("applies conditional writes and compare-and-set", async () => {
      const c = cache();
      expect(await c.set("cond", "a", { onlyIfPresent: true })).toBe(false);
      expect(await c.has("cond")).toBe(false);
      expect(await c.set("cond", "a", { onlyIfAbsent: true, ttl: 60 })).toBe(true);
      expect(await c.set("cond", "b", { onlyIfAbsent: true })).toBe(false);
      expect(await c.set("cond", "c", { onlyIfPresent: true })).toBe(true);
      const entry = await c.getEntry<string>("cond");
      expect(entry?.value).toBe("c");
      const version = entry?.version ?? 0;
      expect(await c.set("cond", "d", { ifVersion: version })).toBe(true);
      expect(await c.set("cond", "e", { ifVersion: version })).toBe(false);
      expect(await c.get("cond")).toBe("d");
    });

    it("rejects contradictory or impossible options locally", async () => {
      const c = cache();
      await expectLarderError(c.set("x", 1, { onlyIfAbsent: true, onlyIfPresent: true }), Code.InvalidArgument);
      await expectLarderError(c.set("x", 1, { ttl: 5, noExpiry: true }), Code.InvalidArgument, /ttl/);
      await expectLarderError(c.set("x", 1, -1), Code.InvalidArgument, /ttl/);
      await expectLarderError(c.set("x", 1, Number.NaN), Code.InvalidArgument, /ttl/);
      await expectLarderError(c.set("x", undefined), Code.InvalidArgument, /value/);
      await expectLarderError(c.set("x", () => 1), Code.InvalidArgument, /value/);
      await expectLarderError(c.set("x", { big: 1n }), Code.InvalidArgument, /JSON/);
      await expectLarderError(c.set("x", 1, "60" as unknown as number), Code.InvalidArgument, /ttl/);
      await expectLarderError(c.keys(42 as unknown as string), Code.InvalidArgument);
      const pages = c.iterateKeys("*", { pageSize: 0 })[Symbol.asyncIterator]();
      await expectLarderError(pages.next(), Code.InvalidArgument, /pageSize/);
      expect(await c.has("x")).toBe(false);
    });
  });

  describe("errors", () => {
    it("wraps server errors in LarderError with the server's message", async () => {
      const c = cache();
      const err = await expectLarderError(c.get(""), Code.InvalidArgument, /key/);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe("LarderError");
      expect(err.codeName).toBe("INVALID_ARGUMENT");
      expect(err.message).not.toMatch(/^\[/);
      await expectLarderError(c.set("", 1), Code.InvalidArgument, /key/);
      await expectLarderError(c.set("k", 1, 31 * 86_400), Code.InvalidArgument, /ttl_ms/);
      await expectLarderError(c.set("k".repeat(2000), 1), Code.InvalidArgument, /key/);
    });

    it("reports FAILED_PRECONDITION when incrementing a non-integer", async () => {
      const c = cache();
      await c.set("word", "hello");
      const err = await expectLarderError(c.increment("word"), Code.FailedPrecondition);
      expect(err.codeName).toBe("FAILED_PRECONDITION");
    });
  });

  describe("expiry", () => {
    it("expires entries after a short TTL", async () => {
      const c = cache();
      await c.set("brief", "here", 0.2);
      expect(await c.get("brief")).toBe("here");
      await sleep(400);
      expect(await c.get("brief")).toBeNull();
      expect(await c.has("brief")).toBe(false);
    });

    it("extends a TTL and reports missing keys", async () => {
      const c = cache();
      await c.set("ext", "v", 0.3);
      expect(await c.extend("ext", 1)).toBe(true);
      await sleep(500);
      expect(await c.get("ext")).toBe("v");
      expect(await c.extend("absent", 1)).toBe(false);
    });

    it("slides the expiry on get with touch", async () => {
      const c = cache();
      await c.set("slide", "v", 0.3);
      expect(await c.get("slide", { touch: 2 })).toBe("v");
      await sleep(500);
      expect(await c.get("slide")).toBe("v");
      const e = await c.getEntry("slide");
      expect((e?.expiresAt?.getTime() ?? 0) - Date.now()).toBeGreaterThan(1000);
    });
  });

  describe("keys", () => {
    it("lists every key across pages, with and without a pattern", async () => {
      const c = cache();
      const wanted = Array.from({ length: 300 }, (_, i) => `item:${String(i).padStart(3, "0")}`);
      await c.setMany([...wanted.map((key) => ({ key, value: key })), { key: "other:1", value: 1 }, { key: "other:2", value: 2 }]);
      expect((await c.keys("item:*")).sort()).toEqual(wanted);
      expect((await c.keys()).length).toBe(302);
      expect((await c.keys("other:?")).sort()).toEqual(["other:1", "other:2"]);
      expect(await c.keys("nothing:*")).toEqual([]);
    });

    it("iterates lazily, one page per round trip", async () => {
      const count = counter();
      const c = cache({ transport: transportFor(url(), "grpc", [count.interceptor]) });
      const wanted = Array.from({ length: 260 }, (_, i) => `it:${i}`);
      await c.setMany(wanted.map((key) => ({ key, value: 0 })));

      const seen = new Set<string>();
      for await (const key of c.iterateKeys("it:*", { pageSize: 50 })) seen.add(key);
      expect([...seen].sort()).toEqual([...wanted].sort());
      expect(count.calls.get("Keys")).toBeGreaterThanOrEqual(Math.ceil(260 / 50));

      count.calls.clear();
      for await (const key of c.iterateKeys("it:*", { pageSize: 10 })) {
        expect(key).toMatch(/^it:/);
        break;
      }
      expect(count.calls.get("Keys") ?? 0).toBeLessThan(5);
    });
  });

  describe("batches", () => {
    it("answers getMany in request order with misses as null", async () => {
      const c = cache();
      await c.set("a", { v: "a" });
      await c.set("c", [3]);
      const got = await c.getMany<unknown>(["c", "missing", "a"]);
      expect([...got.entries()]).toEqual([
        ["c", [3]],
        ["missing", null],
        ["a", { v: "a" }],
      ]);
      expect((await c.getMany([])).size).toBe(0);
    });

    it("splits batches over 1000 keys transparently", async () => {
      const count = counter();
      const c = cache({ transport: transportFor(url(), "grpc", [count.interceptor]) });
      const keys = Array.from({ length: 2500 }, (_, i) => `bulk:${i}`);
      await c.setMany(keys.map((key, i) => ({ key, value: i })));
      expect(count.calls.get("SetMany")).toBe(3);
      const got = await c.getMany<number>([...keys, "bulk:none"]);
      expect(count.calls.get("GetMany")).toBe(3);
      expect([...got.keys()]).toEqual([...keys, "bulk:none"]);
      expect(got.get("bulk:1999")).toBe(1999);
      expect(got.get("bulk:none")).toBeNull();
      expect(await c.deleteMany(keys.slice(0, 1500))).toBe(1500);
      expect(count.calls.get("Delete")).toBe(2);
      expect((await c.keys("bulk:*")).length).toBe(1000);
    });

    it("writes per-entry TTLs with setMany", async () => {
      const c = cache();
      await c.setMany([
        { key: "m:short", value: "s", ttl: 0.2 },
        { key: "m:long", value: { l: true } },
        { key: "m:bin", value: new Uint8Array([1, 2, 3]) },
      ]);
      expect(await c.get("m:long")).toEqual({ l: true });
      expect(Array.from((await c.get<Uint8Array>("m:bin")) ?? [])).toEqual([1, 2, 3]);
      await sleep(400);
      expect(await c.get("m:short")).toBeNull();
      expect(await c.get("m:long")).toEqual({ l: true });
      await c.setMany([]);
    });
  });

  describe("has and delete", () => {
    it("checks existence and deletes one or many keys", async () => {
      const c = cache();
      await c.set("d1", 1);
      await c.set("d2", 2);
      await c.set("d3", 3);
      expect(await c.has("d1")).toBe(true);
      expect(await c.delete("d1")).toBe(true);
      expect(await c.delete("d1")).toBe(false);
      expect(await c.has("d1")).toBe(false);
      expect(await c.delete(["d2", "nope"])).toBe(true);
      expect(await c.delete(["nope"])).toBe(false);
      expect(await c.deleteMany(["d2", "d3", "nope"])).toBe(1);
      expect(await c.deleteMany([])).toBe(0);
      expect(await c.keys()).toEqual([]);
    });
  });

  describe("increment", () => {
    it("counts atomically and creates with a TTL", async () => {
      const c = cache();
      expect(await c.increment("hits")).toBe(1);
      expect(await c.increment("hits", 5)).toBe(6);
      expect(await c.increment("hits", -2)).toBe(4);
      expect(await c.get<number>("hits")).toBe(4);

      expect(await c.increment("rate", 1, 0.2)).toBe(1);
      await sleep(400);
      expect(await c.get("rate")).toBeNull();

      const results = await Promise.all(Array.from({ length: 50 }, () => c.increment("race")));
      expect(new Set(results).size).toBe(50);
      expect(await c.get("race")).toBe(50);
      await expectLarderError(c.increment("hits", 1.5), Code.InvalidArgument, /delta/);
    });
  });
});
