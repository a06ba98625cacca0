import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, createRedisStore, loadConfig, type LarderServer } from "../../server/index.js";
import { makeCa, type CertFiles, type TestCa } from "../harness/certs.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { json } from "../harness/fixture.js";
import { launchRedis, type RedisProcess } from "../harness/redis-process.js";

/**
 * A redis-server that speaks only TLS (`--port 0`), with certificates of
 * `ca`; `authClients` "yes" also requires a client certificate.
 */
async function startTlsRedis(ca: TestCa, server: CertFiles, authClients: "yes" | "no", probe: CertFiles): Promise<RedisProcess> {
  return launchRedis({
    args: (port) => [
      "--tls-port", String(port), "--port", "0",
      "--tls-cert-file", server.certPath, "--tls-key-file", server.keyPath, "--tls-ca-cert-file", ca.certPath,
      "--tls-auth-clients", authClients,
    ],
    probeTls: { ca: ca.cert, cert: probe.cert, key: probe.key },
  });
}

let ca: TestCa;
let otherCa: TestCa;
let redisCert: CertFiles;
let clientCert: CertFiles;
beforeAll(() => {
  ca = makeCa("redis-ca");
  otherCa = makeCa("not-redis-ca");
  redisCert = ca.server("redis");
  clientCert = ca.client("larder");
});
afterAll(() => {
  ca.remove();
  otherCa.remove();
});

describe("Larder on a TLS-only redis-server", () => {
  let redis: RedisProcess;
  let mutual: RedisProcess;
  const servers: LarderServer[] = [];
  beforeAll(async () => {
    redis = await startTlsRedis(ca, redisCert, "no", clientCert);
    mutual = await startTlsRedis(ca, redisCert, "yes", clientCert);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await redis.stop();
    await mutual.stop();
  });

  async function roundTrip(server: LarderServer): Promise<void> {
    const c = cacheClient(server.url, { namespace: freshNamespace() });
    await c.set({ key: "k", value: json({ over: "rediss" }) });
    expect((await c.get({ key: "k" })).value?.kind).toEqual({ case: "json", value: JSON.stringify({ over: "rediss" }) });
    expect((await c.increment({ key: "n", delta: 3n })).value).toBe(3n);
    const lock = await c.lock({ name: "l", ttlMs: 5000n });
    expect(lock.acquired).toBe(true);
  }

  it("serves end to end over rediss:// with a private CA (redis.tls.ca)", async () => {
    const server = await startLarder(createRedisStore({ url: `rediss://127.0.0.1:${redis.port}`, tls: { ca: ca.certPath }, keyPrefix: "tls1" }));
    servers.push(server);
    await roundTrip(server);
  });

  it("presents a client certificate to a Redis with tls-auth-clients yes (redis.tls.cert/key)", async () => {
    const store = createRedisStore({
      url: `rediss://127.0.0.1:${mutual.port}`,
      tls: { ca: ca.certPath, cert: clientCert.certPath, key: clientCert.keyPath },
      keyPrefix: "tls2",
    });
    const server = await startLarder(store);
    servers.push(server);
    await roundTrip(server);
  });

  it("takes the settings from the config file, as `larder serve` does", async () => {
    const file = join(ca.dir, "larder.json");
    writeFileSync(file, JSON.stringify({ store: "redis", redis: { url: `rediss://127.0.0.1:${redis.port}`, tls: { ca: ca.certPath } } }));
    const config = loadConfig({ LARDER_CONFIG: file });
    expect(config.store).toBe("redis");
    const server = await startLarder(createRedisStore({ ...config.redis, keyPrefix: "tls3" }));
    servers.push(server);
    await roundTrip(server);
  });

  it("stays unready, never crashing, when it does not trust Redis' certificate", async () => {
    const server = await startLarder(
      createRedisStore({ url: `rediss://127.0.0.1:${redis.port}`, tls: { ca: otherCa.certPath }, keyPrefix: "tls4", callTimeoutMs: 500 }),
      { healthPollIntervalMs: 100 },
    );
    servers.push(server);
    await new Promise((r) => setTimeout(r, 600));
    expect(server.health.serving).toBe(false);
    const c = cacheClient(server.url, { namespace: freshNamespace() });
    await expect(c.get({ key: "k" })).rejects.toThrow(/unavailable/i);
  });

  it("stays unready without a client certificate where Redis requires one", async () => {
    const server = await startLarder(
      createRedisStore({ url: `rediss://127.0.0.1:${mutual.port}`, tls: { ca: ca.certPath }, keyPrefix: "tls5", callTimeoutMs: 500 }),
      { healthPollIntervalMs: 100 },
    );
    servers.push(server);
    await new Promise((r) => setTimeout(r, 600));
    expect(server.health.serving).toBe(false);
  });
});

describe("redis.tls settings", () => {
  function configWith(redis: unknown): () => unknown {
    const file = join(ca.dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ redis }));
    return () => loadConfig({ LARDER_CONFIG: file });
  }

  it.each([
    [{ tls: { ca: "/nonexistent/ca.pem" } }, /^redis\.tls\.ca: cannot read \/nonexistent\/ca\.pem: ENOENT$/],
    [{ tls: { ca: "package.json" } }, /^redis\.tls\.ca: package\.json is not a PEM certificate/],
    [{ tls: { cert: "CERT" } }, /^redis\.tls\.cert: cannot read/],
    [{ tls: { verify: "no" } }, /^redis\.tls\.verify: unknown setting; known: ca, cert, key$/],
    [{ tls: "yes" }, /^redis\.tls: must be an object$/],
  ])("refuses %j with the setting's name", (redis, message) => {
    const load = configWith(redis);
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });

  it("refuses a client key that does not match the certificate, and a certificate without a key", () => {
    const other = ca.client("other");
    expect(configWith({ tls: { cert: clientCert.certPath, key: other.keyPath } })).toThrow(/^redis\.tls\.key: .* does not match the certificate/);
    expect(configWith({ tls: { cert: clientCert.certPath } })).toThrow(/^redis\.tls\.key: required with redis\.tls\.cert$/);
  });
});
