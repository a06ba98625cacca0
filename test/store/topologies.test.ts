/**
 * The Redis store on real multi-process topologies: a 3-master Cluster and
 * a Sentinel set-up, including a Sentinel failover under a write loop. The
 * conformance suites run on both as well; this file checks what they
 * cannot see from the API: where the data sits, and failover.
 */

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore, type LarderServer, type Store } from "../../server/index.js";
import { json, sleep } from "../harness/fixture.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { startRedisCluster, type RedisCluster } from "../harness/redis-cluster.js";
import { startRedisSentinel, type RedisSentinel } from "../harness/redis-sentinel.js";

const prefix = "topo";

/** The Redis key of an entry, as README "How data sits in Redis" gives it. */
const entryKey = (ns: string, key: string): string => `${prefix}:{}:${Buffer.byteLength(ns)}:${ns}:e:${key}`;

function connect(port: number): Redis {
  const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
  c.on("error", () => {});
  return c;
}

/** Every key on one node under a MATCH pattern. */
async function scanAll(c: Redis, match: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await c.scan(cursor, "MATCH", match, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

/** The slot ranges a node reports, each with the port of its master. */
async function slotRanges(c: Redis): Promise<{ from: number; to: number; master: number }[]> {
  const ranges = await c.cluster("SLOTS");
  return ranges.map(([from, to, master]) => ({ from, to, master: master?.[1] ?? -1 }));
}

describe("Redis Cluster", () => {
  let cluster: RedisCluster;
  let store: Store;
  let server: LarderServer;
  let nodes: Redis[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    nodes = cluster.nodes.map((n) => connect(n.port));
    store = createRedisStore({ clusterNodes: cluster.nodes.map(({ host, port }) => ({ host, port })), keyPrefix: prefix });
    server = await startLarder(store);
  });

  afterAll(async () => {
    for (const n of nodes) n.disconnect();
    await server?.close();
    await cluster?.stop();
  });

  /** The port of the master that serves a key's slot. */
  async function masterOf(key: string): Promise<number> {
    const first = nodes[0];
    if (first === undefined) throw new Error("no nodes");
    const slot = Number(await first.cluster("KEYSLOT", key));
    const range = (await slotRanges(first)).find(({ from, to }) => slot >= from && slot <= to);
    if (range === undefined) throw new Error(`slot ${slot} is not served`);
    return range.master;
  }

  it("is three masters that hold all 16384 slots between them", async () => {
    const ports = cluster.nodes.map((n) => n.port).sort();
    expect(cluster.nodes.every((n) => n.role === "master")).toBe(true);
    for (const node of nodes) {
      const info = await node.cluster("INFO");
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_size:3\b/);
      expect(info).toMatch(/cluster_slots_assigned:16384\b/);
      expect(info).toMatch(/cluster_known_nodes:3\b/);
      expect(await node.info("replication")).toMatch(/role:master/);
    }
    for (const node of nodes) {
      const ranges = await slotRanges(node);
      const covered = ranges.reduce((sum, { from, to }) => sum + (to - from + 1), 0);
      expect(covered).toBe(16384);
      expect([...new Set(ranges.map((r) => r.master))].sort()).toEqual(ports);
    }
  });

  it("spreads one namespace's keys over every master, and lists them all", async () => {
    const ns = freshNamespace("spread");
    const c = cacheClient(server.url, { namespace: ns });
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    for (let i = 0; i < keys.length; i += 1000) {
      await c.setMany({ entries: keys.slice(i, i + 1000).map((key) => ({ key, value: json(key) })) });
    }
    const perNode = await Promise.all(nodes.map((n) => scanAll(n, `${prefix}:{}:${Buffer.byteLength(ns)}:${ns}:e:*`)));
    const counts = perNode.map((k) => k.length);
    expect(counts.reduce((a, n) => a + n, 0)).toBe(keys.length);
    const share = Math.max(...counts) / keys.length;
    console.log(`one namespace's ${keys.length} keys per master: ${counts.join(" / ")} (fullest ${(share * 100).toFixed(1)} %)`);
    expect(share).toBeLessThanOrEqual(0.45);
    // Every key, once, through Keys pages that move from master to master.
    const listed: string[] = [];
    let cursor = "";
    do {
      const page = await c.keys({ pattern: "k*", cursor, limit: 500 });
      listed.push(...page.keys);
      cursor = page.nextCursor;
    } while (cursor !== "");
    expect(new Set(listed).size).toBe(keys.length);
    // GetMany and Delete across masters answer in request order.
    const asked = ["k5", "missing", "k2999", "k0"];
    const got = await c.getMany({ keys: asked });
    expect(got.items.map((i) => (i.found ? i.value?.kind.value : null))).toEqual(['"k5"', null, '"k2999"', '"k0"']);
    expect((await c.delete({ keys: ["k5", "k2999", "missing"] })).deleted).toBe(2n);
  });

  it("keeps a pinned namespace in one slot", async () => {
    const pinnedServer = await startLarder(
      createRedisStore({ clusterNodes: cluster.nodes.map(({ host, port }) => ({ host, port })), keyPrefix: prefix, pinnedNamespaces: ["tenant-pinned"] }),
    );
    try {
      const c = cacheClient(pinnedServer.url, { namespace: "tenant-pinned" });
      await c.setMany({ entries: Array.from({ length: 50 }, (_, i) => ({ key: `p${i}`, value: json(i) })) });
      const perNode = await Promise.all(nodes.map((n) => scanAll(n, `${prefix}:{13:tenant-pinned}:e:*`)));
      expect(perNode.map((k) => k.length).sort()).toEqual([0, 0, 50]);
      expect((await c.keys({ limit: 1000 })).keys).toHaveLength(50);
    } finally {
      await pinnedServer.close();
    }
  });

  it("announces lock releases to a waiter whichever master holds the lock", async () => {
    // One lock per master, so the publishing node differs from the
    // node the release subscription happens to sit on for at least two.
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3 && i < 500; i++) {
      const ns = freshNamespace("rel");
      const port = await masterOf(`${prefix}:{}:${Buffer.byteLength(ns)}:${ns}:l:job`);
      if (!byMaster.has(port)) byMaster.set(port, ns);
    }
    expect(byMaster.size).toBe(3);
    for (const ns of byMaster.values()) {
      const heard: string[] = [];
      const unwatch = await store.watchLocks(ns, (name) => heard.push(name));
      const token = randomUUID();
      expect(await store.lock(ns, "job", { token, owner: "t", ttlMs: 60_000 })).toMatchObject({ acquired: true });
      expect(await store.unlock(ns, "job", token)).toBe("released");
      const deadline = Date.now() + 2000;
      while (heard.length === 0 && Date.now() < deadline) await sleep(10);
      unwatch();
      expect(heard, `release in ${ns}`).toEqual(["job"]);
    }
  });
});

describe("Redis Sentinel", () => {
  let sentinel: RedisSentinel;
  let server: LarderServer;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    const sentinels = sentinel.sentinels.map(({ host, port }) => ({ host, port }));
    const store = createRedisStore({ sentinels, sentinelName: sentinel.masterName, keyPrefix: prefix });
    server = await startLarder(store);
  });

  afterAll(async () => {
    await server?.close();
    await sentinel?.stop();
  });

  it("writes through the master, and they reach the replica", async () => {
    const ns = freshNamespace();
    const c = cacheClient(server.url, { namespace: ns });
    await c.set({ key: "greeting", value: json("Hello!") });
    const master = connect(sentinel.master.port);
    const replica = connect(sentinel.replica.port);
    try {
      expect(await master.info("replication")).toMatch(/role:master/);
      expect(await replica.info("replication")).toMatch(/role:slave/);
      expect((await master.get(entryKey(ns, "greeting")))?.split("\n")[1]).toBe('"Hello!"');
      // A write of our own after Larder's, acknowledged by the replica, means
      // everything before it in the replication stream got there too.
      await master.set(`${prefix}-sync`, "1");
      expect(await master.wait(1, 2000)).toBe(1);
      expect((await replica.get(entryKey(ns, "greeting")))?.split("\n")[1]).toBe('"Hello!"');
    } finally {
      master.disconnect();
      replica.disconnect();
    }
  });

  it("follows a failover by itself, and keeps every write the replica had", async () => {
    const c = cacheClient(server.url, { namespace: freshNamespace("failover") });
    const acked: { key: string; start: number; end: number }[] = [];
    let stopLoop = false;
    let killedAt = Number.POSITIVE_INFINITY;
    const loop = (async () => {
      for (let i = 0; !stopLoop; i++) {
        const start = Date.now();
        try {
          await c.set({ key: `k${i}`, value: json(i) });
          acked.push({ key: `k${i}`, start, end: Date.now() });
        } catch {
          // Unavailable while there is no master; only acknowledged writes count.
          await sleep(20);
        }
        // Enough writes in flight to see the outage, few enough to leave the CPU to Redis.
        await sleep(5);
      }
    })();

    while (acked.length < 50) await sleep(10);
    // Our own write after the acknowledged ones, acknowledged by the replica:
    // every write acknowledged before it has replicated.
    const master = connect(sentinel.master.port);
    let replicated: string[];
    try {
      replicated = acked.map((w) => w.key);
      await master.set(`${prefix}-sync`, "1");
      expect(await master.wait(1, 2000)).toBe(1);
    } finally {
      master.disconnect();
    }
    const killed = await sentinel.killMaster();
    killedAt = Date.now();
    expect(killed).toBe(sentinel.master.port);

    const recovered = () => acked.find((w) => w.start > killedAt);
    while (recovered() === undefined && Date.now() - killedAt < 15_000) await sleep(20);
    const firstAfter = recovered();
    // A few more after the first, so the loop shows it stays recovered.
    const target = acked.length + 10;
    while (acked.length < target && Date.now() - killedAt < 20_000) await sleep(20);
    stopLoop = true;
    await loop;

    expect(firstAfter, "no write succeeded within 15 s of the kill").toBeDefined();
    const recoveryMs = (firstAfter?.end ?? Number.NaN) - killedAt;
    console.log(`Sentinel failover: writes succeed again ${recoveryMs} ms after the master was killed`);
    expect(recoveryMs).toBeLessThan(10_000);
    expect(acked.length).toBeGreaterThanOrEqual(target);

    const probe = connect(sentinel.sentinels[0]?.port ?? 0);
    try {
      const [, port] = (await probe.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel.masterName)) as [string, string];
      expect(Number(port)).toBe(sentinel.replica.port);
    } finally {
      probe.disconnect();
    }
    const got = await c.getMany({ keys: replicated });
    const missing = replicated.filter((key, i) => got.items[i]?.found !== true);
    expect(missing, "writes acknowledged and replicated before the kill").toEqual([]);
    const after = acked.filter((w) => w.start > killedAt).map((w) => w.key);
    const gotAfter = await c.getMany({ keys: after });
    expect(gotAfter.items.every((item) => item.found)).toBe(true);
  });
});
