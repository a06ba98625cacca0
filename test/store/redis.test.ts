import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore, type Expiry, LarderError, type Store, type StoredValue } from "../../server/index.js";
import { matchSuperset } from "../../server/store/redis/scan.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

const json = (text: string): StoredValue => ({ kind: "json", json: text });
/** A value as plain data: JSON read from Redis also carries its UTF-8 bytes, which the comparisons leave out. */
const plain = (value: StoredValue | undefined): StoredValue | undefined =>
  value?.kind === "json" ? { kind: "json", json: value.json } : value;
const binary = (...b: number[]): StoredValue => ({ kind: "binary", binary: new Uint8Array(b) });
const ttl = (ttlMs: number): Expiry => ({ ttlMs });
const never: Expiry = { never: true };

let server: RedisServer;
let store: Store;
let raw: Redis;
let nsCounter = 0;
/** A fresh namespace per test, so tests never see each other's keys. */
const freshNs = (): string => `t${++nsCounter}-${Math.random().toString(36).slice(2)}`;
/** The Redis key of an entry of a spread namespace. */
const entryKey = (ns: string, key: string): string => `larder:{}:${Buffer.byteLength(ns)}:${ns}:e:${key}`;

async function expectKind(promise: Promise<unknown>, kind: LarderError["kind"], message?: RegExp): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LarderError);
  expect((err as LarderError).kind).toBe(kind);
  if (message !== undefined) expect((err as LarderError).message).toMatch(message);
}

/** Every key of a listing, page by page, checking the page size. */
async function listAll(ns: string, pattern: string, limit: number): Promise<string[]> {
  const all: string[] = [];
  let cursor = "";
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.keys(ns, pattern, cursor, limit);
    expect(page.keys.length).toBeLessThanOrEqual(limit);
    all.push(...page.keys);
    cursor = page.nextCursor;
    if (cursor === "") return all;
  }
  throw new Error("listing did not end");
}

beforeAll(async () => {
  server = await startRedis();
  store = createRedisStore({ url: server.url, callTimeoutMs: 1000 });
  raw = new Redis(server.url);
  raw.on("error", () => {});
  await store.ping();
});

afterAll(async () => {
  await store.close();
  raw.disconnect();
  await server.stop();
});

describe("redis store", () => {
  it("round-trips JSON and binary values with metadata", async () => {
    const ns = freshNs();
    const set = await store.set(ns, { key: "j", value: json('{"a":[1,"é"]}'), expiry: ttl(60_000), condition: { mode: "always" } });
    expect(set).toMatchObject({ applied: true, created: true });
    const bytes = [0, 255, 128, 10, 13, 0xc3];
    await store.set(ns, { key: "b", value: binary(...bytes), expiry: never, condition: { mode: "always" } });

    const j = await store.get(ns, "j");
    expect(plain(j?.value)).toEqual(json('{"a":[1,"é"]}'));
    expect(j?.meta.version).toBe(set.version);
    expect(j?.meta.expiresAt).toBe(set.expiresAt);
    expect(j?.meta.createdAt).toBe(j?.meta.updatedAt);
    // A plain read records nothing.
    expect(j?.meta.lastReadAt).toBeUndefined();
    expect(Math.abs((j?.meta.createdAt ?? 0) - Date.now())).toBeLessThan(5_000);
    expect((j?.meta.expiresAt ?? 0) - (j?.meta.createdAt ?? 0)).toBe(60_000);

    const b = await store.get(ns, "b");
    expect(b?.value.kind).toBe("binary");
    const got = b?.value.kind === "binary" ? b.value.binary : undefined;
    expect(got?.constructor).toBe(Uint8Array);
    expect([...(got ?? [])]).toEqual(bytes);
    expect(b?.meta.expiresAt).toBeUndefined();

    expect(await store.get(ns, "missing")).toBeUndefined();
    // JSON is stored as plain text after the header line, readable in redis-cli.
    const stored = await raw.get(entryKey(ns, "j"));
    expect(stored?.split("\n")).toEqual([expect.stringMatching(/^j:\d{13}:\d{13}:\d{13}:0{13}:\d{16}$/), '{"a":[1,"é"]}']);
    expect(await raw.pttl(entryKey(ns, "b"))).toBe(-1);
  });

  it("records tracked reads, keeps createdAt and lastReadAt on overwrite", async () => {
    const ns = freshNs();
    await store.set(ns, { key: "k", value: json("1"), expiry: ttl(60_000), condition: { mode: "always" } });
    const first = await store.get(ns, "k", undefined, true);
    expect(first?.meta.lastReadAt).toBeDefined();
    await sleep(5);
    await store.set(ns, { key: "k", value: json("2"), expiry: ttl(60_000), condition: { mode: "always" } });
    const many = await store.getMany(ns, ["nope", "k", "nope2"], true);
    expect(many[0]).toBeUndefined();
    expect(many[2]).toBeUndefined();
    expect(plain(many[1]?.value)).toEqual(json("2"));
    expect(many[1]?.meta.createdAt).toBe(first?.meta.createdAt);
    expect(many[1]?.meta.updatedAt).toBeGreaterThan(first?.meta.createdAt ?? Infinity);
    // The overwrite kept the read time; the read a moment later does not move it (one write a second at most).
    expect(many[1]?.meta.lastReadAt).toBe(first?.meta.lastReadAt);
  });

  it("getMany answers what get answers, for values and keys of any bytes", async () => {
    const ns = freshNs();
    const values: Record<string, StoredValue> = {
      plain: json('{"a":1}'),
      separators: json('"-,:;\\r\\n é"'),
      dash: json("-"),
      empty: json(""),
      bytes: binary(0x2d, 0x2c, 0x3a, 0, 255),
      dashByte: binary(0x2d),
      noBytes: binary(),
      "ключ,-:": json("[1,2]"),
    };
    for (const [key, value] of Object.entries(values)) {
      const expiry = key === "bytes" ? never : ttl(60_000);
      await store.set(ns, { key, value, expiry, condition: { mode: "always" } });
    }
    const keys = ["missing", ...Object.keys(values), "plain", "-", "also missing"];
    const many = await store.getMany(ns, keys, true);
    expect(many).toHaveLength(keys.length);
    const readAt = many.find((e) => e !== undefined)?.meta.lastReadAt;
    for (const [i, key] of keys.entries()) {
      const got = many[i];
      const single = await store.get(ns, key, undefined, true);
      if (!(key in values)) {
        expect(got).toBeUndefined();
        expect(single).toBeUndefined();
        // A read of a missing key must not create it.
        expect(await raw.exists(entryKey(ns, key))).toBe(0);
        continue;
      }
      expect(plain(got?.value)).toEqual(values[key]);
      if (got?.value.kind === "binary") expect(got.value.binary.constructor).toBe(Uint8Array);
      expect({ ...got?.meta, lastReadAt: 0 }).toEqual({ ...single?.meta, lastReadAt: 0 });
      // One read time for the whole call, the one recorded in `r`.
      expect(got?.meta.lastReadAt).toBe(readAt);
    }
    expect(many[keys.indexOf("bytes")]?.meta.expiresAt).toBeUndefined();
    // The read time answered is the one stored, and it moves a second later.
    await sleep(1_050);
    const [again] = await store.getMany(ns, ["missing", "plain"], true).then((e) => e.slice(1));
    expect(again?.meta.lastReadAt).toBeGreaterThanOrEqual((readAt ?? Infinity) + 1000);
    expect(await raw.getrange(entryKey(ns, "plain"), 44, 56)).toBe(String(again?.meta.lastReadAt).padStart(13, "0"));
    // Untracked reads answer the stored read time and write nothing.
    expect((await store.get(ns, "plain"))?.meta.lastReadAt).toBe(again?.meta.lastReadAt);
  });

  it("expires entries and slides expiry on touch", async () => {
    const ns = freshNs();
    await store.set(ns, { key: "short", value: json("1"), expiry: ttl(150), condition: { mode: "always" } });
    await store.set(ns, { key: "touched", value: json("1"), expiry: ttl(150), condition: { mode: "always" } });
    await sleep(80);
    const before = Date.now();
    const touched = await store.get(ns, "touched", 400);
    expect(touched?.meta.expiresAt).toBeGreaterThanOrEqual(before + 400 - 50);
    expect(touched?.meta.expiresAt).toBeLessThanOrEqual(Date.now() + 400 + 50);
    expect(await raw.pttl(entryKey(ns, "touched"))).toBeGreaterThan(300);
    await sleep(150);
    expect(await store.get(ns, "short")).toBeUndefined();
    expect(await store.has(ns, "short")).toEqual({ found: false });
    expect(await store.has(ns, "touched")).toEqual({ found: true, expiresAt: touched?.meta.expiresAt });
    await sleep(300);
    expect(await store.get(ns, "touched")).toBeUndefined();
  });

  it("applies every set condition", async () => {
    const ns = freshNs();
    const base = { value: json('"v"'), expiry: ttl(60_000) };
    const absent = await store.set(ns, { key: "k", ...base, condition: { mode: "ifPresent" } });
    expect(absent).toEqual({ applied: false, created: false, version: 0, expiresAt: undefined });
    const created = await store.set(ns, { key: "k", ...base, condition: { mode: "ifAbsent" } });
    expect(created).toMatchObject({ applied: true, created: true });
    const blocked = await store.set(ns, { key: "k", ...base, value: json("2"), condition: { mode: "ifAbsent" } });
    expect(blocked).toEqual({ applied: false, created: false, version: created.version, expiresAt: created.expiresAt });
    const present = await store.set(ns, { key: "k", ...base, condition: { mode: "ifPresent" } });
    expect(present).toMatchObject({ applied: true, created: false });
    expect(present.version).toBeGreaterThan(created.version);
    const stale = await store.set(ns, { key: "k", ...base, condition: { mode: "ifVersion", version: created.version } });
    expect(stale).toMatchObject({ applied: false, version: present.version });
    const cas = await store.set(ns, { key: "k", ...base, value: json("3"), expiry: never, condition: { mode: "ifVersion", version: present.version } });
    expect(cas).toMatchObject({ applied: true, created: false, expiresAt: undefined });
    expect(plain((await store.get(ns, "k"))?.value)).toEqual(json("3"));
    const missing = await store.set(ns, { key: "x", ...base, condition: { mode: "ifVersion", version: 0 } });
    expect(missing.applied).toBe(false);
  });

  it("raises versions strictly, also across delete and recreate", async () => {
    const ns = freshNs();
    const w = { key: "k", value: json("1"), expiry: ttl(60_000), condition: { mode: "always" } } as const;
    const v1 = (await store.set(ns, w)).version;
    const v2 = (await store.set(ns, { ...w, key: "other" })).version;
    expect(await store.delete(ns, ["k"])).toBe(1);
    const v3 = await store.set(ns, w);
    expect(v3.created).toBe(true);
    expect(v1 < v2 && v2 < v3.version).toBe(true);
    const stale = await store.set(ns, { ...w, condition: { mode: "ifVersion", version: v1 } });
    expect(stale.applied).toBe(false);
    const many = await store.setMany(ns, [
      { key: "k", value: json("2"), expiry: ttl(60_000) },
      { key: "new", value: binary(1), expiry: never },
    ]);
    expect(many[0]?.created).toBe(false);
    expect(many[0]?.version).toBeGreaterThan(v3.version);
    expect(many[1]?.created).toBe(true);
    // Versions are Redis-clock microseconds: recent, and past the previous one.
    expect(Math.abs((many[1]?.version ?? 0) / 1000 - Date.now())).toBeLessThan(5_000);
    expect((await store.get(ns, "new"))?.meta.expiresAt).toBeUndefined();
  });

  it("deletes and counts only keys that existed", async () => {
    const ns = freshNs();
    await store.setMany(ns, ["a", "b", "c"].map((key) => ({ key, value: json("1"), expiry: ttl(60_000) })));
    expect(await store.delete(ns, ["a", "b", "a", "zz"])).toBe(2);
    expect(await store.delete(ns, [])).toBe(0);
    expect(await store.has(ns, "a")).toEqual({ found: false });
    expect((await store.has(ns, "c")).found).toBe(true);
  });

  it("extends remaining TTL within the maximum", async () => {
    const ns = freshNs();
    const s = await store.set(ns, { key: "k", value: json("1"), expiry: ttl(10_000), condition: { mode: "always" } });
    const before = await store.get(ns, "k");
    const ext = await store.extend(ns, "k", 5_000, 60_000);
    expect(ext).toEqual({ status: "extended", expiresAt: (s.expiresAt ?? 0) + 5_000 });
    const over = await store.extend(ns, "k", 50_000, 60_000);
    expect(over.status).toBe("exceedsMax");
    if (over.status === "exceedsMax") {
      expect(over.remainingMs).toBeGreaterThan(14_000);
      expect(over.remainingMs).toBeLessThanOrEqual(15_000);
    }
    const after = await store.get(ns, "k");
    expect(after?.meta.expiresAt).toBe((s.expiresAt ?? 0) + 5_000);
    expect(after?.meta.version).toBe(before?.meta.version);
    expect(after?.meta.updatedAt).toBe(before?.meta.updatedAt);
    const pttl = await raw.pttl(entryKey(ns, "k"));
    expect(pttl).toBeGreaterThan(14_000);

    await store.set(ns, { key: "forever", value: json("1"), expiry: never, condition: { mode: "always" } });
    expect(await store.extend(ns, "forever", 1_000, 60_000)).toEqual({ status: "extended", expiresAt: undefined });
    expect((await store.get(ns, "forever"))?.meta.expiresAt).toBeUndefined();
    expect(await store.extend(ns, "missing", 1_000, 60_000)).toEqual({ status: "missing" });
  });

  it("increments atomically with int64 semantics", async () => {
    const ns = freshNs();
    const created = await store.increment(ns, "n", 5n, ttl(60_000));
    expect(created).toMatchObject({ value: 5n, created: true });
    expect(created.expiresAt).toBeDefined();
    const next = await store.increment(ns, "n", -7n, ttl(1_000));
    expect(next).toMatchObject({ value: -2n, created: false, expiresAt: created.expiresAt });
    expect(next.version).toBeGreaterThan(created.version);
    expect(plain((await store.get(ns, "n"))?.value)).toEqual(json("-2"));

    await Promise.all(Array.from({ length: 200 }, () => store.increment(ns, "c", 1n, never)));
    expect(plain((await store.get(ns, "c"))?.value)).toEqual(json("200"));
    expect((await store.get(ns, "c"))?.meta.expiresAt).toBeUndefined();

    const big = 2n ** 63n - 2n;
    await store.set(ns, { key: "big", value: json(big.toString()), expiry: never, condition: { mode: "always" } });
    expect((await store.increment(ns, "big", 1n, never)).value).toBe(2n ** 63n - 1n);
    await expectKind(store.increment(ns, "big", 1n, never), "outOfRange");
    await store.set(ns, { key: "huge", value: json("99999999999999999999"), expiry: never, condition: { mode: "always" } });
    await expectKind(store.increment(ns, "huge", 1n, never), "outOfRange");
    await store.set(ns, { key: "low", value: json((-(2n ** 63n)).toString()), expiry: never, condition: { mode: "always" } });
    await expectKind(store.increment(ns, "low", -1n, never), "outOfRange");

    for (const bad of ['"5"', "1.5", "{}", "1e3"]) {
      await store.set(ns, { key: "bad", value: json(bad), expiry: never, condition: { mode: "always" } });
      await expectKind(store.increment(ns, "bad", 1n, never), "failedPrecondition");
    }
    await store.set(ns, { key: "bin", value: binary(0x31), expiry: never, condition: { mode: "always" } });
    await expectKind(store.increment(ns, "bin", 1n, never), "failedPrecondition");
    expect(plain((await store.get(ns, "bin"))?.value)).toEqual(binary(0x31));
  });

  it("isolates namespaces whatever their names", async () => {
    const names = ["a", "a}:e:b", "*", "{x}", "a:e", "1:a", "[a]?", "ünï"];
    for (const ns of names) {
      await store.set(ns, { key: "b", value: json(JSON.stringify(ns)), expiry: ttl(60_000), condition: { mode: "always" } });
      await store.set(ns, { key: "k*", value: json("0"), expiry: ttl(60_000), condition: { mode: "always" } });
    }
    for (const ns of names) {
      expect(plain((await store.get(ns, "b"))?.value)).toEqual(json(JSON.stringify(ns)));
      expect((await listAll(ns, "*", 100)).sort()).toEqual(["b", "k*"]);
    }
    expect(await store.delete("a", ["b"])).toBe(1);
    expect(plain((await store.get("a}:e:b", "b"))?.value)).toEqual(json(JSON.stringify("a}:e:b")));
  });

  it("pages through many keys, each exactly once", async () => {
    const ns = freshNs();
    const all = Array.from({ length: 2500 }, (_, i) => `key:${i}`);
    for (let i = 0; i < all.length; i += 500) {
      await store.setMany(ns, all.slice(i, i + 500).map((key) => ({ key, value: json("1"), expiry: ttl(120_000) })));
    }
    // Keys of another namespace and of Redis itself must never leak in.
    await raw.set("unrelated:key:1", "x");
    await store.set(freshNs(), { key: "key:1", value: json("1"), expiry: ttl(60_000), condition: { mode: "always" } });

    const listed = await listAll(ns, "*", 100);
    expect(new Set(listed).size).toBe(listed.length);
    expect(new Set(listed)).toEqual(new Set(all));
    expect(new Set(await listAll(ns, "key:1??", 7))).toEqual(new Set(all.filter((k) => /^key:1..$/.test(k))));
    expect(await listAll(ns, "key:2499", 1)).toEqual(["key:2499"]);
  });

  it("lists every key that survives concurrent writes and deletes", async () => {
    const ns = freshNs();
    const all = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    await store.setMany(ns, all.map((key) => ({ key, value: json("1"), expiry: never })));
    const seen = new Set<string>();
    const deleted = new Set<string>();
    let cursor = "";
    let page = 0;
    do {
      // Small pages make most pages end inside a SCAN range.
      const result = await store.keys(ns, "*", cursor, 3);
      result.keys.forEach((k) => seen.add(k));
      cursor = result.nextCursor;
      const victim = all[(page * 7919) % all.length] as string;
      deleted.add(victim);
      await store.delete(ns, [victim]);
      await store.setMany(ns, [0, 1, 2].map((i) => ({ key: `new${page}-${i}`, value: json("1"), expiry: never })));
      page++;
    } while (cursor !== "");
    expect(all.filter((k) => !deleted.has(k) && !seen.has(k))).toEqual([]);
  });

  it("matches globs by code point", async () => {
    const ns = freshNs();
    const keys = ["a1", "b1", "c1", "d1", "é1", "日1", "*1", "ab1", "[a]1", "\\1"];
    await store.setMany(ns, keys.map((key) => ({ key, value: json("1"), expiry: ttl(60_000) })));
    const list = async (pattern: string): Promise<string[]> => (await listAll(ns, pattern, 3)).sort();
    expect(await list("?1")).toEqual(["*1", "\\1", "a1", "b1", "c1", "d1", "é1", "日1"].sort());
    expect(await list("[a-c]1")).toEqual(["a1", "b1", "c1"]);
    expect(await list("[^a-c]1")).toEqual(["*1", "\\1", "d1", "é1", "日1"].sort());
    expect(await list("\\*1")).toEqual(["*1"]);
    expect(await list("\\[a]1")).toEqual(["[a]1"]);
    expect(await list("[é日]1")).toEqual(["é1", "日1"]);
    expect(await list("\\\\1")).toEqual(["\\1"]);
    expect(await list("*b*")).toEqual(["ab1", "b1"]);
  });

  it("builds MATCH patterns that cover the glob", () => {
    expect(matchSuperset("user:*")).toBe("user:*");
    expect(matchSuperset("a?b[xy]c**")).toBe("a*b*c*");
    expect(matchSuperset("\\*[")).toBe("\\*\\[");
    expect(matchSuperset("é?")).toBe("é*");
  });

  it("rejects malformed cursors", async () => {
    const ns = freshNs();
    for (const cursor of ["x", "-1", "1:zz", "1:2:abc", "99999999999999999999", "1:"]) {
      await expectKind(store.keys(ns, "*", cursor, 10), "invalidArgument");
    }
  });

  it("fails a call that Redis does not answer in time as unavailable, and goes on after", async () => {
    const ns = freshNs();
    await store.set(ns, { key: "k", value: json("1"), expiry: never, condition: { mode: "always" } });
    // CLIENT PAUSE holds every client's commands: the store's calls wait
    // unanswered past its 1000 ms timeout, the pausing connection is not held.
    await raw.call("CLIENT", "PAUSE", "2500", "ALL");
    const started = Date.now();
    const waiting = [store.get(ns, "k"), store.get(ns, "k"), store.has(ns, "k")];
    for (const call of waiting) await expectKind(call, "unavailable", /did not answer in time/);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(2_000);
    await raw.call("CLIENT", "UNPAUSE");
    expect(plain((await store.get(ns, "k"))?.value)).toEqual(json("1"));
  });

  it("fails as unavailable when Redis was never reachable", async () => {
    const down = createRedisStore({ url: "redis://127.0.0.1:1", callTimeoutMs: 500 });
    try {
      const started = Date.now();
      await expectKind(down.get("ns", "k"), "unavailable");
      await expectKind(down.ping(), "unavailable");
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await down.close();
    }
  });

  it("fails fast as unavailable while Redis is down, then recovers", async () => {
    const ns = freshNs();
    await store.set(ns, { key: "k", value: json("1"), expiry: never, condition: { mode: "always" } });
    await server.stop();
    const started = Date.now();
    await expectKind(store.get(ns, "k"), "unavailable");
    await expectKind(store.ping(), "unavailable");
    await expectKind(store.set(ns, { key: "k", value: json("2"), expiry: never, condition: { mode: "always" } }), "unavailable");
    expect(Date.now() - started).toBeLessThan(3_000);

    await server.restart();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = await store.ping().then(
        () => true,
        () => false,
      );
      if (!recovered) await sleep(50);
    }
    expect(recovered).toBe(true);
    // The restarted server is empty.
    expect(await store.get(ns, "k")).toBeUndefined();
    expect((await store.set(ns, { key: "k", value: json("3"), expiry: never, condition: { mode: "always" } })).applied).toBe(true);
  });
});
