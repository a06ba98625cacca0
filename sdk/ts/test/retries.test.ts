import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { Interceptor, Transport } from "@connectrpc/connect";
import type { LarderServer } from "../../../server/index.js";
import { createCache, Code, type Cache } from "../src/index.js";
import { freshNamespace, makeStore, startLarder, transportFor } from "../../../test/harness/larder.js";
import { freePort } from "../../../test/harness/redis-server.js";
import { counter, failFirst, expectLarderError } from "../../../test/harness/sdk-calls.js";

describe("@larder/sdk retries and deadlines", () => {
  it("retries idempotent calls on UNAVAILABLE when nothing listens, then fails", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    for (const protocol of ["grpc", "connect-h1"] as const) {
      const count = counter();
      const c = createCache({ url, retries: 3, transport: transportFor(url, protocol, [count.interceptor]) });
      await expectLarderError(c.get("k"), Code.Unavailable);
      expect(count.calls.get("Get")).toBe(4);
      await expectLarderError(c.set("k", 1), Code.Unavailable);
      expect(count.calls.get("Set")).toBe(4);
      await expectLarderError(c.getMany(["a"]), Code.Unavailable);
      expect(count.calls.get("GetMany")).toBe(4);
      await c.close();
    }
  });

  it("never retries increment, extend or a conditional set", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const count = counter();
    const c = createCache({ url, retries: 3, transport: transportFor(url, "grpc", [count.interceptor]) });
    await expectLarderError(c.increment("n"), Code.Unavailable);
    await expectLarderError(c.extend("n", 5), Code.Unavailable);
    await expectLarderError(c.set("n", 1, { onlyIfAbsent: true }), Code.Unavailable);
    await expectLarderError(c.set("n", 1, { ifVersion: 3 }), Code.Unavailable);
    expect(count.calls.get("Increment")).toBe(1);
    expect(count.calls.get("Extend")).toBe(1);
    expect(count.calls.get("Set")).toBe(2);
  });

  it("backs off between attempts on its own transport", async () => {
    const port = await freePort();
    const c = createCache({ url: `http://127.0.0.1:${port}`, retries: 2 });
    const started = performance.now();
    await expectLarderError(c.has("k"), Code.Unavailable, /ECONNREFUSED/);
    // Equal jitter: at least half of 50 ms, then half of 100 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
    await c.close();

    const once = createCache({ url: `http://127.0.0.1:${port}`, retries: 0 });
    const t0 = performance.now();
    await expectLarderError(once.has("k"), Code.Unavailable);
    expect(performance.now() - t0).toBeLessThan(1000);
    await once.close();
  });

  it("succeeds once a server starts listening during the retries", async () => {
    const port = await freePort();
    const c = createCache({ url: `http://127.0.0.1:${port}`, retries: 6, namespace: freshNamespace() });
    let server: LarderServer | undefined;
    const starting = sleep(60).then(async () => {
      server = await startLarder(makeStore("memory"), { port });
    });
    try {
      expect(await c.get("k")).toBeNull();
      expect(await c.set("k", "up")).toBe(true);
      expect(await c.get("k")).toBe("up");
    } finally {
      await starting;
      await c.close();
      await server?.close();
    }
  });

  describe("against a live server", () => {
    let server: LarderServer | undefined;
    beforeAll(async () => {
      server = await startLarder(makeStore("memory"));
    });
    afterAll(async () => {
      await server?.close();
    });

    function flaky(failures: number, extra: Interceptor[] = []): { c: Cache; count: ReturnType<typeof counter> } {
      if (server === undefined) throw new Error("server not started");
      const count = counter();
      const transport: Transport = transportFor(server.url, "grpc", [count.interceptor, failFirst(failures), ...extra]);
      return { c: createCache({ url: server.url, namespace: freshNamespace(), retries: 2, transport }), count };
    }

    it("recovers from transient UNAVAILABLE within the retry budget", async () => {
      const { c, count } = flaky(2);
      expect(await c.set("k", "v")).toBe(true);
      expect(count.calls.get("Set")).toBe(3);
      expect(await c.get("k")).toBe("v");
      expect(count.calls.get("Get")).toBe(1);
      await c.close();
    });

    it("gives up after the retry budget", async () => {
      const { c, count } = flaky(3);
      await expectLarderError(c.get("k"), Code.Unavailable, /injected outage/);
      expect(count.calls.get("Get")).toBe(3);
      expect(await c.get("k")).toBeNull();
    });

    it("does not retry increment, leaving the counter untouched", async () => {
      const { c, count } = flaky(1);
      await expectLarderError(c.increment("n"), Code.Unavailable);
      expect(count.calls.get("Increment")).toBe(1);
      expect(await c.get("n")).toBeNull();
      expect(await c.increment("n")).toBe(1);
    });

    it("sends the deadline and headers on every call", async () => {
      if (server === undefined) throw new Error("server not started");
      const seen: { timeout: string | null; ns: string | null; auth: string | null }[] = [];
      const spy: Interceptor = (next) => (req) => {
        seen.push({
          timeout: req.header.get("grpc-timeout"),
          ns: req.header.get("larder-namespace"),
          auth: req.header.get("authorization"),
        });
        return next(req);
      };
      const c = createCache({
        url: server.url,
        namespace: "ns-headers",
        apiKey: "k1",
        timeoutMs: 1234,
        transport: transportFor(server.url, "grpc", [spy]),
      });
      await c.set("a", 1);
      await c.get("a");
      await c.keys();
      expect(seen.length).toBe(3);
      for (const s of seen) expect(s).toEqual({ timeout: "1234m", ns: "ns-headers", auth: "Bearer k1" });
    });

    it("fails with DEADLINE_EXCEEDED past timeoutMs, without retrying", async () => {
      if (server === undefined) throw new Error("server not started");
      const count = counter();
      const stall: Interceptor = (next) => async (req) => {
        await sleep(2000, undefined, { signal: req.signal }).catch(() => {});
        return next(req);
      };
      const c = createCache({
        url: server.url,
        timeoutMs: 100,
        retries: 3,
        transport: transportFor(server.url, "grpc", [count.interceptor, stall]),
      });
      const started = performance.now();
      await expectLarderError(c.get("k"), Code.DeadlineExceeded);
      expect(performance.now() - started).toBeLessThan(1500);
      expect(count.calls.get("Get")).toBe(1);
    });
  });
});
