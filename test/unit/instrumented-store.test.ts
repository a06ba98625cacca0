import { describe, expect, it } from "vitest";
import { instrumentStore } from "../../server/store/instrumented.js";
import { createMemoryStore } from "../../server/index.js";

describe("instrumented store", () => {
  it("times every store call, RunCommand's state included, under the store's kind", async () => {
    const calls: { store: string; op: string; errorKind: string | undefined }[] = [];
    const store = instrumentStore(createMemoryStore(), {
      storeCall: (s, op, seconds, errorKind) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        calls.push({ store: s, op, errorKind });
      },
    });
    await store.get("ns", "k");
    await store.commandState.decide("ns", "id", 1000, 60_000);
    await store.commandState.listEvents("ns", undefined, 10, 60_000);
    await expect(store.increment("ns", "k", 1n, { ttlMs: 1000 })).resolves.toMatchObject({ value: 1n });
    await store.set("ns", { key: "text", value: { kind: "json", json: '"a"' }, expiry: { ttlMs: 1000 }, condition: { mode: "always" } });
    // The memory store may throw before returning a promise; both count.
    await expect((async () => store.increment("ns", "text", 1n, { ttlMs: 1000 }))()).rejects.toThrow(/not an integer/);
    expect(calls).toEqual([
      { store: "memory", op: "get", errorKind: undefined },
      { store: "memory", op: "command.decide", errorKind: undefined },
      { store: "memory", op: "command.listEvents", errorKind: undefined },
      { store: "memory", op: "increment", errorKind: undefined },
      { store: "memory", op: "set", errorKind: undefined },
      { store: "memory", op: "increment", errorKind: "failedPrecondition" },
    ]);
    await store.close();
  });
});
