import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { createCache, Code } from "../src/index.js";
import { freshNamespace, storeKinds } from "../../../test/harness/larder.js";
import { expectLarderError } from "../../../test/harness/sdk-calls.js";
import { useSdkServers } from "./fixture.js";

describe.each(storeKinds)("@larder/sdk: get-or-compute, protocols, auth and close [%s store]", (kind) => {
  const { url, authUrl, cache, track } = useSdkServers(kind);

  describe("get-or-compute", () => {
    it("computes once for 100 concurrent callers and caches the result", async () => {
      const c = cache();
      let calls = 0;
      const getValue = async (): Promise<{ n: number }> => {
        calls++;
        await sleep(50);
        return { n: calls };
      };
      const results = await Promise.all(Array.from({ length: 100 }, () => c.get("computed", { ttl: 60, getValue })));
      expect(calls).toBe(1);
      for (const r of results) expect(r).toEqual({ n: 1 });
      expect(await c.get("computed")).toEqual({ n: 1 });
      expect(await c.get("computed", { getValue })).toEqual({ n: 1 });
      expect(calls).toBe(1);
    });

    it("recomputes after expiry and returns the value as stored", async () => {
      const c = cache();
      let calls = 0;
      const getValue = (): { at: Date; n: number } => ({ at: new Date(0), n: ++calls });
      expect(await c.get("recomp", { ttl: 0.2, getValue })).toEqual({ at: "1970-01-01T00:00:00.000Z", n: 1 });
      await sleep(400);
      expect(await c.get("recomp", { ttl: 0.2, getValue })).toEqual({ at: "1970-01-01T00:00:00.000Z", n: 2 });
      expect(calls).toBe(2);
    });

    it("shares a failure with every waiting caller and caches nothing", async () => {
      const c = cache();
      let calls = 0;
      const failing = async (): Promise<number> => {
        calls++;
        await sleep(20);
        throw new Error("upstream down");
      };
      const settled = await Promise.allSettled(Array.from({ length: 10 }, () => c.get("flaky", { getValue: failing })));
      expect(calls).toBe(1);
      for (const s of settled) {
        expect(s.status).toBe("rejected");
        if (s.status === "rejected") expect((s.reason as Error).message).toBe("upstream down");
      }
      expect(await c.has("flaky")).toBe(false);
      expect(await c.get("flaky", { getValue: () => 7 })).toBe(7);
      expect(await c.get<number>("flaky")).toBe(7);
    });

    it("treats a stored null as a hit and rejects an undefined result", async () => {
      const c = cache();
      await c.set("cached-null", null);
      expect(await c.get<number | null>("cached-null", { getValue: () => 1 })).toBeNull();
      await expectLarderError(c.get("undef", { getValue: () => undefined }), Code.InvalidArgument, /getValue/);
    });
  });

  describe.each(["grpc", "connect"] as const)("protocol %s", (protocol) => {
    it("performs every operation", async () => {
      const c = cache({ protocol });
      expect(await c.set("p:obj", { protocol }, 60)).toBe(true);
      expect(await c.get("p:obj")).toEqual({ protocol });
      await c.set("p:bin", new Uint8Array([9, 8, 7]));
      expect(Array.from((await c.get<Uint8Array>("p:bin")) ?? [])).toEqual([9, 8, 7]);
      expect(await c.has("p:obj")).toBe(true);
      expect(await c.extend("p:obj", 10)).toBe(true);
      expect((await c.keys("p:*")).sort()).toEqual(["p:bin", "p:obj"]);
      expect([...(await c.getMany(["p:obj", "p:none"])).values()]).toEqual([{ protocol }, null]);
      await c.setMany([{ key: "p:many", value: 1 }]);
      expect(await c.increment("p:many")).toBe(2);
      expect(await c.get("p:lazy", { getValue: () => "computed" })).toBe("computed");
      expect(await c.delete(["p:obj", "p:bin", "p:many", "p:lazy"])).toBe(true);
      expect(await c.keys()).toEqual([]);
      await expectLarderError(c.get(""), Code.InvalidArgument, /key/);
    });
  });

  describe("namespaces and auth", () => {
    it("isolates namespaces from each other", async () => {
      const a = cache();
      const b = cache();
      await a.set("shared-name", "from a");
      expect(await b.get("shared-name")).toBeNull();
      expect(await b.has("shared-name")).toBe(false);
      expect(await b.keys()).toEqual([]);
      await b.set("shared-name", "from b");
      expect(await b.delete("shared-name")).toBe(true);
      expect(await a.get("shared-name")).toBe("from a");
      expect(await a.keys()).toEqual(["shared-name"]);
    });

    it("sends the API key as a bearer token", async () => {
      const keyed = createCache({ url: authUrl(), apiKey: "secret-key" });
      const anonymous = createCache({ url: authUrl() });
      const wrong = createCache({ url: authUrl(), apiKey: "wrong" });
      track(keyed, anonymous, wrong);
      await keyed.set("k", 1);
      expect(await keyed.get("k")).toBe(1);
      await expectLarderError(anonymous.get("k"), Code.Unauthenticated);
      await expectLarderError(wrong.get("k"), Code.Unauthenticated);
    });
  });

  describe("close", () => {
    it("can be called twice and fails later calls", async () => {
      for (const protocol of ["grpc", "connect"] as const) {
        const c = createCache({ url: url(), namespace: freshNamespace(), protocol });
        await c.set("k", 1);
        await c.close();
        await c.close();
        await expectLarderError(c.get("k"), Code.FailedPrecondition, /closed/);
      }
    });
  });
});
