import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { serveLarder as serve, stopLarder as stop } from "../harness/larder-cli.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

const run = promisify(execFile);

function curl(port: number, method: string, body: string): Promise<string> {
  return run("curl", ["-s", "-H", "content-type: application/json", "-d", body, `http://127.0.0.1:${port}/larder.v1.CacheService/${method}`]).then(
    (r) => r.stdout,
  );
}

describe("larder serve (memory store)", () => {
  it("serves curl over HTTP/1.1 and grpc-js over HTTP/2, then stops cleanly on SIGTERM", async () => {
    const { proc, port, logs } = await serve({});
    expect(logs()).toContain('"store":"memory"');
    const set = await curl(port, "Set", JSON.stringify({ key: "k", value: { json: '{"hello":"world"}' } }));
    expect(JSON.parse(set)).toMatchObject({ applied: true, created: true });
    const got = JSON.parse(await curl(port, "Get", '{"key":"k"}')) as { value: { json: string } };
    expect(JSON.parse(got.value.json)).toEqual({ hello: "world" });

    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const { GetRequestSchema, GetResponseSchema } = await import("../../server/gen/larder/v1/cache_pb.js");
    const { create, toBinary, fromBinary } = await import("@bufbuild/protobuf");
    const res = await new Promise<{ found: boolean; value?: { kind: { value?: unknown } } | undefined }>((resolve, reject) =>
      client.makeUnaryRequest(
        "/larder.v1.CacheService/Get",
        (m: ReturnType<typeof create<typeof GetRequestSchema>>) => Buffer.from(toBinary(GetRequestSchema, m)),
        (b: Buffer) => fromBinary(GetResponseSchema, b),
        create(GetRequestSchema, { key: "k" }),
        (err, r) => (err || !r ? reject(err) : resolve(r)),
      ),
    );
    client.close();
    expect(res.value?.kind.value).toBe('{"hello":"world"}');

    const cli = await run(process.execPath, ["bin/larder.js", "get", "k", "--url", `http://127.0.0.1:${port}`]);
    expect(cli.stdout.trim()).toBe('{"hello":"world"}');
    expect(await stop(proc)).toBe(0);
    expect(logs()).toContain('"msg":"stopped"');
  });

  it("reports a bad configuration in one line and exits 1", async () => {
    const err = await run(process.execPath, ["bin/larder.js", "serve"], {
      env: { ...process.env, LARDER_STORE: "postgres" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr.trim()).toBe(
      'larder: configuration error: store (LARDER_STORE): must be "memory" or "redis", got "postgres"',
    );
  });
});

describe("larder serve (REDIS_URL)", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("uses Redis when REDIS_URL is set, with the JSON readable in redis-cli", async () => {
    const { proc, port, logs } = await serve({ REDIS_URL: redis.url });
    expect(logs()).toContain('"store":"redis"');
    await curl(port, "Set", JSON.stringify({ key: "greeting", value: { json: '"Hello!"' } }));
    const keys = await run("redis-cli", ["-p", String(redis.port), "--scan", "--pattern", "*greeting"]);
    const redisKey = keys.stdout.trim();
    expect(redisKey).toMatch(/default.*greeting$/);
    // The entry's header line, then the value as it was written.
    const raw = await run("redis-cli", ["-p", String(redis.port), "GET", redisKey]);
    expect(raw.stdout.trim().split("\n")[1]).toBe('"Hello!"');
    const ttl = await run("redis-cli", ["-p", String(redis.port), "PTTL", redisKey]);
    expect(Number(ttl.stdout.trim())).toBeGreaterThan(3_590_000);
    expect(await stop(proc)).toBe(0);
  });
});
