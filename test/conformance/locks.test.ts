import { describe, expect, it } from "vitest";
import { Code, type Client } from "@connectrpc/connect";
import { hashApiKey } from "../../server/index.js";
import { SetMode, type CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { ExtendLockStatus, UnlockStatus } from "../../server/gen/larder/v1/lock_pb.js";
import { conformanceKinds, freshNamespace } from "../harness/larder.js";
import { expectCode, json, ms, sleep, useLarder } from "../harness/fixture.js";

type CacheClient = Client<typeof CacheService>;

async function listAllLocks(c: CacheClient, pattern = "", limit = 0): Promise<{ name: string; owner: string }[]> {
  const out: { name: string; owner: string }[] = [];
  let cursor = "";
  do {
    const page = await c.listLocks({ pattern, cursor, limit });
    if (limit > 0) expect(page.locks.length).toBeLessThanOrEqual(limit);
    out.push(...page.locks.map((l) => ({ name: l.name, owner: l.holder?.owner ?? "" })));
    cursor = page.nextCursor;
  } while (cursor !== "");
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

describe.each(conformanceKinds)("conformance: locks [%s store]", (kind) => {
  const larder = useLarder(kind);

  it("grants a free lock with an owner token, a fencing token and an expiry", async () => {
    const c = larder.client();
    const before = Date.now();
    const got = await c.lock({ name: "job", ttlMs: 10_000n, owner: "worker-1" });
    expect(got.acquired).toBe(true);
    expect(got.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(got.fencingToken).toBeGreaterThan(0n);
    expect(ms(got.expiresAt)).toBeGreaterThanOrEqual(before + 9_000);
    expect(ms(got.expiresAt)).toBeLessThanOrEqual(Date.now() + 11_000);
    expect(got.holder).toBeUndefined();

    const busy = await c.lock({ name: "job", owner: "worker-2" });
    expect(busy).toMatchObject({ acquired: false, token: "", fencingToken: 0n });
    expect(busy.holder?.owner).toBe("worker-1");
    expect(busy.holder?.fencingToken).toBe(got.fencingToken);
    expect(ms(busy.holder?.expiresAt)).toBe(ms(got.expiresAt));
  });

  it("uses the configured lock duration when ttl_ms is 0, and random tokens", async () => {
    const c = larder.client();
    const got = await c.lock({ name: "default-ttl" });
    const ttl = ms(got.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(28_000);
    expect(ttl).toBeLessThanOrEqual(31_000);
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) tokens.add((await c.lock({ name: `t${i}` })).token);
    expect(tokens.size).toBe(20);
  });

  it("validates names, TTLs, waits, owners and tokens, naming the field and the limit", async () => {
    const c = larder.client();
    await expectCode(c.lock({ name: "" }), Code.InvalidArgument, /^name: must not be empty/);
    await expectCode(c.lock({ name: "n".repeat(1025) }), Code.InvalidArgument, /name: 1025 bytes exceeds the limit of 1024 bytes \(1 KiB\)/);
    await expectCode(c.lock({ name: "n", ttlMs: -1n }), Code.InvalidArgument, /ttl_ms: must not be negative/);
    await expectCode(c.lock({ name: "n", ttlMs: 3_600_001n }), Code.InvalidArgument, /ttl_ms: 3600001 exceeds the maximum lock TTL of 3600000 ms \(1 hour\)/);
    await expectCode(c.lock({ name: "n", waitMs: 60_001n }), Code.InvalidArgument, /wait_ms: 60001 exceeds the maximum lock wait of 60000 ms \(1 minute\)/);
    await expectCode(c.lock({ name: "n", waitMs: -5n }), Code.InvalidArgument, /wait_ms: must not be negative/);
    await expectCode(c.lock({ name: "n", owner: "o".repeat(1025) }), Code.InvalidArgument, /owner: 1025 bytes exceeds the limit/);
    await expectCode(c.unlock({ name: "n" }), Code.InvalidArgument, /token: must not be empty/);
    await expectCode(c.extendLock({ name: "n", token: "x", ttlMs: 3_600_001n }), Code.InvalidArgument, /ttl_ms: .*maximum lock TTL/);
    await expectCode(c.checkLock({ name: "n", waitMs: 60_001n }), Code.InvalidArgument, /wait_ms: .*maximum lock wait/);
    await expectCode(c.listLocks({ limit: 1001 }), Code.InvalidArgument, /limit: 1001 exceeds the page limit of 1000/);
    await expectCode(c.listLocks({ cursor: "not a cursor!" }), Code.InvalidArgument, /cursor/);
  });

  it("answers Unlock with RELEASED, NOT_HELD or HELD_BY_OTHER", async () => {
    const c = larder.client();
    expect((await c.unlock({ name: "never", token: "x" })).status).toBe(UnlockStatus.NOT_HELD);
    const got = await c.lock({ name: "l" });
    expect((await c.unlock({ name: "l", token: "wrong" })).status).toBe(UnlockStatus.HELD_BY_OTHER);
    expect((await c.lock({ name: "l" })).acquired).toBe(false);
    expect((await c.unlock({ name: "l", token: got.token })).status).toBe(UnlockStatus.RELEASED);
    expect((await c.unlock({ name: "l", token: got.token })).status).toBe(UnlockStatus.NOT_HELD);
    expect((await c.lock({ name: "l" })).acquired).toBe(true);
  });

  it("extends only for the owner, from now", async () => {
    const c = larder.client();
    const got = await c.lock({ name: "l", ttlMs: 1000n });
    const extended = await c.extendLock({ name: "l", token: got.token, ttlMs: 20_000n });
    expect(extended.status).toBe(ExtendLockStatus.EXTENDED);
    expect(ms(extended.expiresAt) - Date.now()).toBeGreaterThan(18_000);
    expect(ms((await c.checkLock({ name: "l" })).holder?.expiresAt)).toBe(ms(extended.expiresAt));
    const other = await c.extendLock({ name: "l", token: "someone-else", ttlMs: 1000n });
    expect(other.status).toBe(ExtendLockStatus.HELD_BY_OTHER);
    expect(other.expiresAt).toBeUndefined();
    expect((await c.extendLock({ name: "free", token: got.token })).status).toBe(ExtendLockStatus.NOT_HELD);
    const byDefault = await c.extendLock({ name: "l", token: got.token });
    expect(ms(byDefault.expiresAt) - Date.now()).toBeGreaterThan(28_000);
  });

  it("raises fencing tokens strictly with every grant, across release and expiry", async () => {
    const c = larder.client();
    const tokens: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const got = await c.lock({ name: "fenced", ttlMs: 50n });
      expect(got.acquired).toBe(true);
      tokens.push(got.fencingToken);
      if (i % 2 === 0) await c.unlock({ name: "fenced", token: got.token });
      else await sleep(80); // let this grant expire instead
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as bigint);
  });

  it("replaces an expired holder: its Unlock is HELD_BY_OTHER, its guarded Set is refused", async () => {
    const c = larder.client();
    // Timed from before the grant, so that a slow answer to it cannot make
    // the wait look shorter than the TTL.
    const started = Date.now();
    const stale = await c.lock({ name: "res", ttlMs: 300n, owner: "stale" });
    const fresh = await c.lock({ name: "res", waitMs: 5000n, owner: "fresh" });
    const waited = Date.now() - started;
    expect(fresh.acquired).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2500);
    expect(fresh.fencingToken).toBeGreaterThan(stale.fencingToken);

    const staleWrite = await c.set({ key: "k", value: json("stale"), lockGuard: { name: "res", token: stale.token } });
    expect(staleWrite).toMatchObject({ applied: false, created: false, version: 0n });
    const staleFence = await c.set({ key: "k", value: json("stale"), lockGuard: { name: "res", token: stale.token, minFencingToken: stale.fencingToken } });
    expect(staleFence.applied).toBe(false);
    expect((await c.unlock({ name: "res", token: stale.token })).status).toBe(UnlockStatus.HELD_BY_OTHER);
    expect((await c.extendLock({ name: "res", token: stale.token })).status).toBe(ExtendLockStatus.HELD_BY_OTHER);

    const freshWrite = await c.set({ key: "k", value: json("fresh"), lockGuard: { name: "res", token: fresh.token } });
    expect(freshWrite).toMatchObject({ applied: true, created: true });
    expect((await c.get({ key: "k" })).value?.kind.value).toBe('"fresh"');
  });

  it("guards a Set by token, by fencing token, or both, atomically with its other condition", async () => {
    const c = larder.client();
    const noLock = await c.set({ key: "k", value: json(0), lockGuard: { name: "g", token: "nobody" } });
    expect(noLock.applied).toBe(false);
    expect((await c.has({ key: "k" })).found).toBe(false);
    const got = await c.lock({ name: "g" });
    const f = got.fencingToken;
    expect((await c.set({ key: "k", value: json(1), lockGuard: { name: "g", minFencingToken: f } })).applied).toBe(true);
    expect((await c.set({ key: "k", value: json(2), lockGuard: { name: "g", minFencingToken: f + 1n } })).applied).toBe(false);
    expect((await c.set({ key: "k", value: json(3), lockGuard: { name: "g", token: got.token, minFencingToken: f } })).applied).toBe(true);
    expect((await c.set({ key: "k", value: json(4), lockGuard: { name: "g", token: "wrong", minFencingToken: f } })).applied).toBe(false);
    const absent = await c.set({ key: "k", value: json(5), mode: SetMode.IF_ABSENT, lockGuard: { name: "g", token: got.token } });
    expect(absent.applied).toBe(false);
    expect((await c.get({ key: "k" })).value?.kind.value).toBe("3");
    await c.unlock({ name: "g", token: got.token });
    const released = await c.set({ key: "k", value: json(6), lockGuard: { name: "g", token: got.token } });
    expect(released).toMatchObject({ applied: false, created: false });
    expect(released.version).toBeGreaterThan(0n);

    await expectCode(c.set({ key: "k", value: json(1), lockGuard: { name: "g" } }), Code.InvalidArgument, /lock_guard: give a token, a min_fencing_token, or both/);
    await expectCode(c.set({ key: "k", value: json(1), lockGuard: { name: "", token: "t" } }), Code.InvalidArgument, /lock_guard.name: must not be empty/);
    await expectCode(c.set({ key: "k", value: json(1), lockGuard: { name: "g", minFencingToken: -1n } }), Code.InvalidArgument, /lock_guard.min_fencing_token: must not be negative/);
  });

  it("wakes a waiting Lock as soon as the holder unlocks", async () => {
    const c = larder.client();
    const held = await c.lock({ name: "w", owner: "first" });
    setTimeout(() => void c.unlock({ name: "w", token: held.token }), 300);
    const started = Date.now();
    const got = await c.lock({ name: "w", waitMs: 5000n, owner: "second" });
    const waited = Date.now() - started;
    expect(got.acquired).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(2500);
  });

  it("gives up after wait_ms, with the holder", async () => {
    const c = larder.client();
    await c.lock({ name: "w", owner: "keeper" });
    const started = Date.now();
    const got = await c.lock({ name: "w", waitMs: 400n });
    const waited = Date.now() - started;
    expect(got.acquired).toBe(false);
    expect(got.holder?.owner).toBe("keeper");
    expect(waited).toBeGreaterThanOrEqual(390);
    expect(waited).toBeLessThan(2500);
  });

  it("ends a wait before the caller's deadline with an answer", async () => {
    const c = larder.client();
    await c.lock({ name: "w", owner: "keeper" });
    const started = Date.now();
    const got = await c.lock({ name: "w", waitMs: 10_000n }, { timeoutMs: 800 });
    expect(got.acquired).toBe(false);
    expect(got.holder?.owner).toBe("keeper");
    expect(Date.now() - started).toBeLessThan(800);
  });

  it("answers CheckLock now, and within a wait as soon as the lock frees", async () => {
    const c = larder.client();
    const free = await c.checkLock({ name: "c" });
    expect(free.available).toBe(true);
    expect(free.holder).toBeUndefined();
    const held = await c.lock({ name: "c", owner: "holder" });
    const busy = await c.checkLock({ name: "c" });
    expect(busy.available).toBe(false);
    expect(busy.holder?.owner).toBe("holder");
    expect(busy.holder?.fencingToken).toBe(held.fencingToken);

    setTimeout(() => void c.unlock({ name: "c", token: held.token }), 300);
    let started = Date.now();
    expect((await c.checkLock({ name: "c", waitMs: 5000n })).available).toBe(true);
    let waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(2500);

    started = Date.now();
    await c.lock({ name: "c", ttlMs: 300n });
    expect((await c.checkLock({ name: "c", waitMs: 5000n })).available).toBe(true);
    waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2500);

    await c.lock({ name: "c" });
    started = Date.now();
    expect((await c.checkLock({ name: "c", waitMs: 300n })).available).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("lists exactly the live locks, with owner, expiry and fencing token, by glob and page", async () => {
    const c = larder.client();
    const names = Array.from({ length: 25 }, (_, i) => `job:${i}`);
    for (const name of names) await c.lock({ name, owner: `o-${name}` });
    await c.lock({ name: "other", owner: "x" });
    await c.lock({ name: "job:short", ttlMs: 50n });
    const released = await c.lock({ name: "job:released" });
    await c.unlock({ name: "job:released", token: released.token });
    await c.set({ key: "job:not-a-lock", value: json(1) });
    await sleep(100);

    const listed = await listAllLocks(c, "job:*", 7);
    expect(listed.map((l) => l.name)).toEqual([...names].sort());
    expect(listed.every((l) => l.owner === `o-${l.name}`)).toBe(true);
    expect((await listAllLocks(c)).length).toBe(26);
    expect((await listAllLocks(c, "job:[12]")).map((l) => l.name)).toEqual(["job:1", "job:2"]);

    const page = await c.listLocks({ pattern: "other" });
    expect(page.nextCursor).toBe("");
    const info = page.locks[0];
    expect(info?.name).toBe("other");
    expect(info?.holder?.fencingToken).toBeGreaterThan(0n);
    expect(ms(info?.holder?.expiresAt)).toBeGreaterThan(Date.now());
    // Locks are not entries, nor entries locks.
    expect((await c.keys({ pattern: "*" })).keys).toEqual(["job:not-a-lock"]);
  });

  it("keeps namespaces apart", async () => {
    const a = larder.client();
    const b = larder.client();
    const got = await a.lock({ name: "shared-name", owner: "a" });
    expect((await b.lock({ name: "shared-name", owner: "b" })).acquired).toBe(true);
    expect((await b.unlock({ name: "shared-name", token: got.token })).status).toBe(UnlockStatus.HELD_BY_OTHER);
    expect((await b.listLocks({})).locks.map((l) => l.holder?.owner)).toEqual(["b"]);
    expect((await b.set({ key: "k", value: json(1), lockGuard: { name: "shared-name", token: got.token } })).applied).toBe(false);
  });

  it("keeps mutual exclusion under contention", async () => {
    const namespace = freshNamespace();
    const clients = Array.from({ length: 10 }, () => larder.client({ namespace }));
    let inside = 0;
    let maxInside = 0;
    const fences: bigint[] = [];
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 5; i++) {
          const got = await c.lock({ name: "mutex", waitMs: 20_000n, ttlMs: 10_000n });
          expect(got.acquired).toBe(true);
          inside++;
          maxInside = Math.max(maxInside, inside);
          fences.push(got.fencingToken);
          await sleep(2);
          inside--;
          expect((await c.unlock({ name: "mutex", token: got.token })).status).toBe(UnlockStatus.RELEASED);
        }
      }),
    );
    expect(maxInside).toBe(1);
    expect(fences).toHaveLength(50);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] as bigint);
  });
});

describe.each(conformanceKinds)("conformance: lock permission [%s store]", (kind) => {
  const larder = useLarder(kind, {
    apiKeys: [
      { sha256: hashApiKey("locker-key"), namespace: "ops", permissions: ["lock"] },
      { sha256: hashApiKey("writer-key"), namespace: "ops", permissions: ["read", "write"] },
    ],
  });

  it("needs the lock permission for every lock RPC, and write for a guarded Set", async () => {
    const locker = larder.client({ apiKey: "locker-key", namespace: "" });
    const writer = larder.client({ apiKey: "writer-key", namespace: "" });
    const got = await locker.lock({ name: "l" });
    expect(got.acquired).toBe(true);
    expect((await locker.listLocks({})).locks).toHaveLength(1);
    for (const call of [
      writer.lock({ name: "l" }),
      writer.unlock({ name: "l", token: got.token }),
      writer.extendLock({ name: "l", token: got.token }),
      writer.checkLock({ name: "l" }),
      writer.listLocks({}),
    ]) {
      await expectCode(call, Code.PermissionDenied, /the API key lacks the "lock" permission/);
    }
    expect((await writer.set({ key: "k", value: json(1), lockGuard: { name: "l", token: got.token } })).applied).toBe(true);
    await expectCode(locker.set({ key: "k", value: json(1) }), Code.PermissionDenied, /"write" permission/);
  });
});
