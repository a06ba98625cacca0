import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GetRequestSchema, GetResponseSchema, SetRequestSchema, SetResponseSchema } from "../../server/gen/larder/v1/cache_pb.js";
import { startServe as start } from "../harness/larder-cli.js";
import { freePort, startRedis, type RedisServer } from "../harness/redis-server.js";

// `larder serve --workers N`: N processes behind one port (node:cluster),
// sharing state through Redis.
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

function listeningPids(logs: string): Set<number> {
  const pids = new Set<number>();
  for (const line of logs.split("\n")) {
    if (!line.includes('"larder listening"')) continue;
    pids.add((JSON.parse(line) as { pid: number }).pid);
  }
  return pids;
}

function call<T>(client: grpc.Client, method: string, encode: () => Buffer, decode: (b: Buffer) => T, ns: string): Promise<T> {
  const md = new grpc.Metadata();
  md.set("larder-namespace", ns);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      `/larder.v1.CacheService/${method}`,
      (b: Buffer) => b,
      decode,
      encode(),
      md,
      { deadline: Date.now() + 5000 },
      (err, r) => (err !== null || r === undefined ? reject(err ?? new Error("no answer")) : resolve(r)),
    ),
  );
}

describe("larder serve --workers", () => {
  it("serves one port from 2 processes on the redis store, then drains all on SIGTERM", async () => {
    const port = await freePort();
    const { proc, logs } = start(["--workers", "2"], { REDIS_URL: redis.url, LARDER_LOG_LEVEL: "info" }, port);
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    for (let i = 0; i < 300 && listeningPids(logs()).size < 2; i++) {
      if (proc.exitCode !== null) throw new Error(`larder exited: ${logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const pids = listeningPids(logs());
    expect(pids.size, logs()).toBe(2);
    expect(pids.has(proc.pid ?? -1)).toBe(false);

    // Separate subchannel pools make separate connections, which the
    // primary hands to the workers in turn.
    const clients = Array.from(
      { length: 4 },
      () => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
    );
    try {
      const ns = `workers-${Date.now()}`;
      for (const [i, client] of clients.entries()) {
        await call(
          client,
          "Set",
          () => Buffer.from(toBinary(SetRequestSchema, create(SetRequestSchema, { key: `k${i}`, value: { kind: { case: "json", value: String(i) } } }))),
          (b) => fromBinary(SetResponseSchema, b),
          ns,
        );
      }
      // Every key is visible through every connection, whichever worker wrote it.
      for (const client of clients) {
        for (let i = 0; i < clients.length; i++) {
          const got = await call(
            client,
            "Get",
            () => Buffer.from(toBinary(GetRequestSchema, create(GetRequestSchema, { key: `k${i}` }))),
            (b) => fromBinary(GetResponseSchema, b),
            ns,
          );
          expect(got.value?.kind.value).toBe(String(i));
        }
      }
      const res = await fetch(`http://127.0.0.1:${port}/larder.v1.CacheService/Get`, {
        method: "POST",
        headers: { "content-type": "application/json", "larder-namespace": ns },
        body: JSON.stringify({ key: "k0" }),
      });
      expect(((await res.json()) as { found: boolean }).found).toBe(true);
    } finally {
      for (const client of clients) client.close();
    }
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(logs()).toContain('"msg":"stopped"');
  });

  it("refuses more than one worker with the memory store", async () => {
    const { proc, logs } = start([], { LARDER_WORKERS: "2", LARDER_STORE: "memory" }, await freePort());
    const code = await new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
    expect(code).toBe(1);
    expect(logs()).toContain("needs the redis store");
  });
});
