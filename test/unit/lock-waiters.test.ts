import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { LockWaiters } from "../../server/service/lock-waiters.js";
import { createMemoryStore, type Store } from "../../server/index.js";

/** A memory store that counts lock attempts. */
function countingStore(now?: () => number): { store: Store; attempts: () => number } {
  const inner = createMemoryStore(now === undefined ? {} : { now });
  let attempts = 0;
  const store: Store = Object.create(inner) as Store;
  store.lock = (ns, name, grant) => {
    attempts++;
    return inner.lock(ns, name, grant);
  };
  return { store, attempts: () => attempts };
}

const grant = (token: string): { token: string; owner: string; ttlMs: number } => ({ token, owner: token, ttlMs: 60_000 });

describe("memory store locks on an injected clock", () => {
  it("expires grants by the store's clock, with fencing tokens that keep rising", async () => {
    let t = 1_000_000;
    const store = createMemoryStore({ now: () => t });
    const first = await store.lock("ns", "l", { token: "a", owner: "A", ttlMs: 1000 });
    expect(first).toEqual({ acquired: true, fencingToken: 1, expiresAt: 1_001_000 });
    t += 999;
    expect(await store.lock("ns", "l", grant("b"))).toEqual({
      acquired: false,
      holder: { owner: "A", expiresAt: 1_001_000, fencingToken: 1, remainingMs: 1 },
    });
    expect(await store.set("ns", { key: "k", value: { kind: "json", json: "1" }, expiry: { ttlMs: 10 }, condition: { mode: "always" }, guard: { name: "l", token: "a", minFencingToken: 0 } })).toMatchObject({ applied: true });
    t += 1;
    expect(await store.checkLock("ns", "l")).toBeUndefined();
    expect((await store.listLocks("ns", "*", "", 10)).locks).toEqual([]);
    const second = await store.lock("ns", "l", grant("b"));
    expect(second).toMatchObject({ acquired: true, fencingToken: 2 });
    expect(await store.unlock("ns", "l", "a")).toBe("heldByOther");
    expect(await store.extendLock("ns", "l", "a", 5000)).toEqual({ status: "heldByOther" });
    expect(await store.set("ns", { key: "k", value: { kind: "json", json: "2" }, expiry: { ttlMs: 10 }, condition: { mode: "always" }, guard: { name: "l", token: "a", minFencingToken: 0 } })).toMatchObject({ applied: false });
    expect(await store.extendLock("ns", "l", "b", 5000)).toEqual({ status: "extended", expiresAt: t + 5000 });
    await store.close();
  });
});

describe("LockWaiters", () => {
  it("wakes one acquiring waiter per release, not all of them", async () => {
    const { store, attempts } = countingStore();
    const waiters = new LockWaiters(store, { maxPollMs: 10_000 });
    const signal = new AbortController().signal;
    await store.lock("ns", "l", grant("holder"));
    const order: string[] = [];
    const calls = Array.from({ length: 10 }, async (_, i) => {
      const out = await waiters.acquire("ns", "l", grant(`w${i}`), 5000, signal);
      expect(out.acquired).toBe(true);
      order.push(`w${i}`);
      await sleep(5);
      await store.unlock("ns", "l", `w${i}`);
    });
    await sleep(50);
    expect(waiters.waiting).toBe(10);
    const before = attempts();
    await store.unlock("ns", "l", "holder");
    await Promise.all(calls);
    // Ten handoffs: about one attempt each, where waking everyone would take ~55.
    expect(attempts() - before).toBeLessThanOrEqual(15);
    expect(order).toHaveLength(10);
    expect(waiters.waiting).toBe(0);
  });

  it("wakes every CheckLock waiter on a release", async () => {
    const { store } = countingStore();
    const waiters = new LockWaiters(store, { maxPollMs: 10_000 });
    const signal = new AbortController().signal;
    await store.lock("ns", "l", grant("holder"));
    const checks = Array.from({ length: 5 }, () => waiters.awaitFree("ns", "l", 5000, signal));
    await sleep(30);
    const started = performance.now();
    await store.unlock("ns", "l", "holder");
    expect(await Promise.all(checks)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("stops waiting when the call ends, releasing nothing it did not get", async () => {
    const { store } = countingStore();
    const waiters = new LockWaiters(store);
    await store.lock("ns", "l", grant("holder"));
    const call = new AbortController();
    setTimeout(() => call.abort(), 100);
    const started = performance.now();
    await expect(waiters.acquire("ns", "l", grant("late"), 5000, call.signal)).rejects.toThrow(/wait_ms: the call ended/);
    expect(performance.now() - started).toBeLessThan(400);
    expect(waiters.waiting).toBe(0);
    expect((await store.checkLock("ns", "l"))?.owner).toBe("holder");
  });

  it("wakes at the holder's expiry, which nobody announces", async () => {
    const { store, attempts } = countingStore();
    // Polls of 1.2 to 2 s: only the expiry can wake it in time.
    const waiters = new LockWaiters(store, { maxPollMs: 2000 });
    await store.lock("ns", "l", { token: "h", owner: "h", ttlMs: 200 });
    const started = performance.now();
    const out = await waiters.acquire("ns", "l", grant("w"), 5000, new AbortController().signal);
    expect(out.acquired).toBe(true);
    expect(performance.now() - started).toBeLessThan(800);
    expect(attempts()).toBeLessThanOrEqual(5);
  });
});
