import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { createLogger, createMemoryStore, hashApiKey, loadConfig, type LogLevel } from "../../server/index.js";
import { cacheClient, startLarder } from "../harness/larder.js";
import { expectCode, json } from "../harness/fixture.js";
import { overrideStore } from "../harness/store-override.js";

/** A logger that keeps its lines, parsed. */
function capture(level: LogLevel): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[]; raw: string[] } {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    write: (line) => {
      raw.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines, raw };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("structured logs", () => {
  it("writes one JSON line per call at debug, without keys, values or secrets", async () => {
    const { logger, lines, raw } = capture("debug");
    const apiKey = "very-secret-api-key";
    const server = await startLarder(createMemoryStore(), {
      logger,
      apiKeys: [{ sha256: hashApiKey(apiKey), namespace: "billing" }],
    });
    try {
      const c = cacheClient(server.url, { namespace: "", apiKey });
      await c.set({ key: "user:secret-key", value: json({ card: "4111-secret-value" }) });
      await c.get({ key: "user:secret-key" });
      await expectCode(cacheClient(server.url, { namespace: "" }).get({ key: "user:secret-key" }), Code.Unauthenticated);
    } finally {
      await server.close();
    }
    const rpcs = lines.filter((l) => l["msg"] === "rpc");
    expect(rpcs.map((l) => [l["rpc"], l["code"]])).toEqual([
      ["larder.v1.CacheService/Set", "ok"],
      ["larder.v1.CacheService/Get", "ok"],
      ["larder.v1.CacheService/Get", "unauthenticated"],
    ]);
    for (const l of rpcs) {
      expect(l["level"]).toBe("debug");
      expect(typeof l["ms"]).toBe("number");
      expect(l["requestId"]).toMatch(uuid);
      expect(l["protocol"]).toBe("grpc");
      expect(Date.parse(String(l["time"]))).not.toBeNaN();
    }
    expect(rpcs[0]?.["namespace"]).toBe("billing");
    const all = raw.join("");
    expect(all).not.toContain("secret-key");
    expect(all).not.toContain("secret-value");
    expect(all).not.toContain(apiKey);
  });

  it("logs an unexpected error at error level under the request id the client sees, and no stack to the client", async () => {
    const { logger, lines } = capture("info");
    const memory = createMemoryStore();
    const broken = overrideStore(memory, {
      get: () => Promise.reject(new Error("driver exploded at /srv/larder/node_modules/x.js:1")),
    });
    const server = await startLarder(broken, { logger });
    try {
      const err = await expectCode(cacheClient(server.url, { namespace: "n" }).get({ key: "k" }), Code.Internal, /^internal error \(request [0-9a-f-]{36}\)$/);
      const requestId = /request ([0-9a-f-]{36})/.exec(err.rawMessage)?.[1];
      const logged = lines.find((l) => l["msg"] === "unexpected error");
      expect(logged).toMatchObject({ level: "error", requestId, rpc: "larder.v1.CacheService/Get", namespace: "n" });
      expect(String(logged?.["error"])).toContain("driver exploded");
      // Calls that went fine leave nothing at info.
      expect(lines.filter((l) => l["msg"] === "rpc")).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("logs store outages once per transition, at warn", async () => {
    const { logger, lines } = capture("info");
    let up = true;
    const memory = createMemoryStore();
    const flaky = overrideStore(memory, {
      ping: () => (up ? Promise.resolve() : Promise.reject(new Error("connection refused"))),
    });
    const server = await startLarder(flaky, { logger, healthPollIntervalMs: 20 });
    try {
      await server.health.pollNow();
      up = false;
      await server.health.pollNow();
      await server.health.pollNow();
      up = true;
      await server.health.pollNow();
    } finally {
      await server.close();
    }
    const health = lines.filter((l) => String(l["msg"]).startsWith("store "));
    expect(health.map((l) => [l["level"], l["msg"]])).toEqual([
      ["warn", "store unreachable: health NOT_SERVING, calls answer UNAVAILABLE until it is back"],
      ["info", "store reachable again: health SERVING"],
    ]);
    expect(health[0]?.["error"]).toBe("connection refused");
  });

  it("takes its level from the config, and writes nothing when silent", () => {
    expect(loadConfig({ LARDER_LOG_LEVEL: "warn" }).logLevel).toBe("warn");
    expect(() => loadConfig({ LARDER_LOG_LEVEL: "loud" })).toThrow(/LARDER_LOG_LEVEL/);
    const info = capture("info");
    info.logger.debug("hidden");
    info.logger.info("shown", { n: 1 });
    expect(info.lines).toEqual([expect.objectContaining({ level: "info", msg: "shown", n: 1 })]);
    const silent = capture("silent");
    silent.logger.error("never");
    expect(silent.lines).toEqual([]);
  });
});
