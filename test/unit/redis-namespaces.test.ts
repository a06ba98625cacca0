import { describe, expect, it } from "vitest";
import { RedisKeys } from "../../server/store/redis/keys.js";
import { namespaceOfEntry } from "../../server/store/redis/namespaces.js";

const head = Buffer.from("larder:");

describe("namespaceOfEntry: namespaces read back out of the Redis key layout", () => {
  const names = ["default", "a:b", "{tag}", "x}:e:y", "日本語", "e", "12:34"];

  it.each(["spread", "pinned"] as const)("finds the namespace of every %s entry key, whatever its characters", (placement) => {
    const keys = new RedisKeys({ prefix: "larder", defaultPlacement: placement });
    for (const ns of names) {
      for (const key of ["k", ":e:", "{}", "日"]) {
        expect(namespaceOfEntry(Buffer.from(keys.entryKey(ns, key)), head)).toBe(ns);
      }
    }
  });

  it("ignores locks, RunCommand state, channels and other prefixes", () => {
    const keys = new RedisKeys({ prefix: "larder" });
    const other = new RedisKeys({ prefix: "larder2" });
    const ignored = [
      keys.lockKey("ns", "l"),
      `${keys.namespaceTag("ns")}:c:item:abc`,
      `${keys.namespaceTag("ns")}:cev`,
      keys.releaseChannel("ns"),
      other.entryKey("ns", "k"),
      "larder:",
      "larder:{}:99:short:e:k",
      "larder:{}:x:ns:e:k",
    ];
    for (const k of ignored) expect(namespaceOfEntry(Buffer.from(k), head), k).toBeUndefined();
  });
});
