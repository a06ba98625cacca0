import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRedisStore, type LarderServer } from "../../server/index.js";
import { makeCa, type CertFiles, type TestCa } from "../harness/certs.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { json } from "../harness/fixture.js";
import { startRedisCluster, type RedisCluster } from "../harness/redis-cluster.js";
import { freePort, launchRedis, type RedisProcess } from "../harness/redis-process.js";

/**
 * redis.tls on the topologies beyond standalone: a Cluster whose nodes
 * talk TLS to clients and to each other (clients are told the TLS ports),
 * and a Sentinel set-up where the sentinels and the master speak only TLS.
 */

let ca: TestCa;
let cert: CertFiles;
beforeAll(() => {
  ca = makeCa("redis-topology-ca");
  cert = ca.server("redis");
});
afterAll(() => ca.remove());

const tlsFiles = (): string[] => ["--tls-cert-file", cert.certPath, "--tls-key-file", cert.keyPath, "--tls-ca-cert-file", ca.certPath, "--tls-auth-clients", "no"];

async function roundTrip(server: LarderServer): Promise<void> {
  const c = cacheClient(server.url, { namespace: freshNamespace() });
  for (const key of ["a", "b", "c", "d"]) await c.set({ key, value: json(key) });
  const many = await c.getMany({ keys: ["a", "b", "c", "d"] });
  expect(many.items.map((e) => e.found)).toEqual([true, true, true, true]);
  expect((await c.increment({ key: "n", delta: 2n })).value).toBe(2n);
  expect((await c.lock({ name: "l", ttlMs: 5000n })).acquired).toBe(true);
}

describe("a Redis Cluster over TLS", () => {
  let cluster: RedisCluster;
  const tlsPorts = new Map<number, number>();
  let server: LarderServer | undefined;
  beforeAll(async () => {
    // Each node keeps a cleartext port for the harness (cluster create and
    // its readiness checks); Larder is given only the TLS ports.
    cluster = await startRedisCluster({
      extraArgs: async (port) => {
        const tlsPort = await freePort();
        tlsPorts.set(port, tlsPort);
        return ["--tls-port", String(tlsPort), "--tls-cluster", "yes", ...tlsFiles()];
      },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await cluster.stop();
  });

  it("serves end to end with redis.tls.ca, following the slots to the nodes' TLS ports", async () => {
    const clusterNodes = cluster.nodes.map((n) => ({ host: "127.0.0.1", port: tlsPorts.get(n.port) ?? 0 }));
    server = await startLarder(createRedisStore({ clusterNodes, tls: { ca: ca.certPath }, keyPrefix: "tls-cluster" }));
    await roundTrip(server);
  });
});

describe("Redis Sentinel over TLS", () => {
  let master: RedisProcess;
  let sentinel: RedisProcess;
  let server: LarderServer | undefined;
  beforeAll(async () => {
    const probeTls = { ca: ca.cert };
    master = await launchRedis({ args: (port) => ["--tls-port", String(port), "--port", "0", "--tls-replication", "yes", ...tlsFiles()], probeTls });
    const dir = ca.dir;
    const file = join(dir, "sentinel.conf");
    writeFileSync(file, [`sentinel monitor tlsmaster 127.0.0.1 ${master.port} 1`, "sentinel down-after-milliseconds tlsmaster 1000", ""].join("\n"));
    // tls-replication makes the sentinel reach the master over TLS too.
    sentinel = await launchRedis({
      configFile: file,
      args: (port) => ["--sentinel", "--tls-port", String(port), "--port", "0", "--tls-replication", "yes", ...tlsFiles()],
      probeTls,
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await sentinel.stop("SIGKILL");
    await master.stop("SIGKILL");
  });

  it("serves end to end, asking the sentinel and reaching the master over TLS", async () => {
    server = await startLarder(
      createRedisStore({ sentinels: [{ host: "127.0.0.1", port: sentinel.port }], sentinelName: "tlsmaster", tls: { ca: ca.certPath }, keyPrefix: "tls-sentinel" }),
    );
    await roundTrip(server);
  });
});
