import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { expectCode, json, sleep, useLarder } from "../harness/fixture.js";

describe("redis store: backend outage", () => {
  const larder = useLarder("redis");

  it("answers UNAVAILABLE while Redis is down, without crashing, and recovers", async () => {
    const c = larder.client({ namespace: "outage" });
    await c.set({ key: "k", value: json(1) });
    const redis = larder.redis;
    if (redis === undefined) throw new Error("no redis");
    await redis.stop();
    const started = Date.now();
    await expectCode(c.get({ key: "k" }), Code.Unavailable, /unavailable/i);
    await expectCode(c.set({ key: "k", value: json(2) }), Code.Unavailable);
    expect(Date.now() - started, "fails fast instead of hanging").toBeLessThan(5000);
    await redis.restart();
    // The restarted server is empty; the store reconnects by itself.
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await c.set({ key: "k", value: json(3) }).then(
        () => true,
        () => false,
      );
      if (!ok) await sleep(100);
    }
    expect(ok).toBe(true);
    expect((await c.get({ key: "k" })).value?.kind.value).toBe("3");
  });
});
