import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { CacheService } from "../../server/gen/larder/v1/cache_pb.js";
import { UnlockStatus } from "../../server/gen/larder/v1/lock_pb.js";
import { json, sleep } from "../harness/fixture.js";
import { cacheClient, freshNamespace } from "../harness/larder.js";
import { freePort, startRedis, type RedisServer } from "../harness/redis-server.js";

const run = promisify(execFile);
type CacheClient = Client<typeof CacheService>;

/** A `larder serve` process on Redis, as deployed behind a load balancer. */
interface ServerProcess {
  readonly proc: ChildProcess;
  readonly url: string;
}

async function serve(redisUrl: string): Promise<ServerProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, ["bin/larder.js", "serve"], {
    env: { ...process.env, LARDER_PORT: String(port), LARDER_HOST: "127.0.0.1", REDIS_URL: redisUrl, LARDER_LOG_LEVEL: "silent" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const probe = cacheClient(url, { namespace: "probe" });
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`larder exited: ${stderr}`);
    try {
      await probe.checkLock({ name: "probe" });
      return { proc, url };
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unimplemented) {
        throw new Error("dist/ predates locks: run `npm run build` before this suite");
      }
      if (i > 200) throw err;
      await sleep(50);
    }
  }
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  await exited;
}

describe("locks across server processes sharing one Redis", () => {
  let redis: RedisServer | undefined;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    if (!existsSync("dist/app/cli.js") || !existsSync("sdk/ts/dist/src/index.js")) {
      throw new Error("the server or SDK is not built: run `npm run build` before this suite");
    }
    redis = await startRedis();
    const url = redis.url;
    servers.push(...(await Promise.all([serve(url), serve(url), serve(url)])));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => stop(s.proc)));
    await redis?.stop();
  });

  /** One client per server, all in one fresh namespace. */
  function clients(namespace = freshNamespace()): CacheClient[] {
    return servers.map((s) => cacheClient(s.url, { namespace }));
  }

  it("keeps mutual exclusion for 50 clients on 3 servers: counter exactly 1000, fencing tokens strictly rising", async () => {
    const namespace = freshNamespace();
    const workers = Array.from({ length: 50 }, (_, i) => cacheClient((servers[i % 3] as ServerProcess).url, { namespace }));
    const fences: bigint[] = [];
    let inside = 0;
    let maxInside = 0;
    const started = performance.now();
    await Promise.all(
      workers.map(async (c) => {
        for (let i = 0; i < 20; i++) {
          const got = await c.lock({ name: "counter", ttlMs: 10_000n, waitMs: 60_000n, owner: "worker" });
          expect(got.acquired).toBe(true);
          // Recorded on receipt, before the next grant can exist (it needs
          // this holder's Unlock), so the array is in order of acquisition.
          fences.push(got.fencingToken);
          inside++;
          maxInside = Math.max(maxInside, inside);
          const read = await c.get({ key: "counter" });
          const n = read.found ? Number(read.value?.kind.value) : 0;
          const write = await c.set({ key: "counter", value: json(n + 1), lockGuard: { name: "counter", token: got.token } });
          expect(write.applied).toBe(true);
          inside--;
          expect((await c.unlock({ name: "counter", token: got.token })).status).toBe(UnlockStatus.RELEASED);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`mutual exclusion: 1000 critical sections by 50 clients on 3 servers in ${seconds.toFixed(2)} s`);
    const final = await (workers[0] as CacheClient).get({ key: "counter" });
    expect(final.value?.kind.value).toBe("1000");
    expect(maxInside).toBe(1);
    expect(fences).toHaveLength(1000);
    expect(new Set(fences).size).toBe(1000);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] as bigint);
  }, 60_000);

  it("replaces a holder that never unlocks after its TTL; the stale holder can neither unlock nor write", async () => {
    const [a, b] = clients() as [CacheClient, CacheClient];
    const stale = await a.lock({ name: "job", ttlMs: 500n, owner: "crashed" });
    expect(await a.set({ key: "out", value: json("stale-ok"), lockGuard: { name: "job", token: stale.token } })).toMatchObject({ applied: true });
    const started = performance.now();
    const fresh = await b.lock({ name: "job", ttlMs: 10_000n, waitMs: 5000n, owner: "successor" });
    const waited = performance.now() - started;
    expect(fresh.acquired).toBe(true);
    expect(waited).toBeGreaterThan(350);
    // Far below the 5 s wait: woken by the expiry, with room for a loaded machine.
    expect(waited).toBeLessThan(2500);
    expect(fresh.fencingToken).toBeGreaterThan(stale.fencingToken);
    expect((await a.unlock({ name: "job", token: stale.token })).status).toBe(UnlockStatus.HELD_BY_OTHER);
    const refused = await a.set({ key: "out", value: json("stale-late"), lockGuard: { name: "job", token: stale.token } });
    expect(refused.applied).toBe(false);
    expect((await b.get({ key: "out" })).value?.kind.value).toBe('"stale-ok"');
  });

  it("answers CheckLock with a wait as soon as the lock frees on another server", async () => {
    const [a, b] = clients() as [CacheClient, CacheClient];
    const held = await a.lock({ name: "gate" });
    let releasedAt = 0;
    setTimeout(() => {
      releasedAt = performance.now();
      void a.unlock({ name: "gate", token: held.token });
    }, 300);
    const started = performance.now();
    const res = await b.checkLock({ name: "gate", waitMs: 5000n });
    const ended = performance.now();
    console.log(
      `CheckLock(wait 5000 ms), lock freed at ${Math.round(releasedAt - started)} ms: answered after ${Math.round(ended - started)} ms, ${(ended - releasedAt).toFixed(1)} ms after the release`,
    );
    expect(res.available).toBe(true);
    expect(ended - started).toBeGreaterThanOrEqual(290);
    expect(ended - started).toBeLessThan(1000);
  });

  it("lists exactly the live locks, whichever server is asked", async () => {
    const [a, b, c] = clients() as [CacheClient, CacheClient, CacheClient];
    await a.lock({ name: "live:a", owner: "a" });
    await b.lock({ name: "live:b", owner: "b" });
    await c.lock({ name: "live:c", owner: "c" });
    await a.lock({ name: "gone:expired", ttlMs: 50n });
    const released = await b.lock({ name: "gone:released" });
    await b.unlock({ name: "gone:released", token: released.token });
    await sleep(100);
    for (const client of [a, b, c]) {
      const page = await client.listLocks({});
      expect(page.nextCursor).toBe("");
      expect(page.locks.map((l) => [l.name, l.holder?.owner]).sort()).toEqual([
        ["live:a", "a"],
        ["live:b", "b"],
        ["live:c", "c"],
      ]);
    }
  });

  it("computes a cold key once for 100 concurrent get-or-compute calls in 2 processes", async () => {
    const namespace = freshNamespace();
    const [key, counterKey] = ["report", "getValue-calls"];
    const startAt = String(Date.now() + 1500);
    const child = (url: string): Promise<unknown[]> =>
      run(process.execPath, ["test/fixtures/stampede-child.mjs", url, namespace, key, counterKey, "50", "10", startAt], {
        timeout: 30_000,
      }).then((r) => JSON.parse(r.stdout) as unknown[]);
    const [first, second] = await Promise.all([child((servers[0] as ServerProcess).url), child((servers[1] as ServerProcess).url)]);
    const results = [...first, ...second];
    expect(results).toHaveLength(100);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    const calls = await (clients(namespace)[2] as CacheClient).get({ key: counterKey });
    expect(calls.value?.kind.value).toBe("1");
  }, 60_000);
});
