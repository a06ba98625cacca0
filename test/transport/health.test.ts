import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../server/gen/grpc/health/v1/health_pb.js";
import { createMemoryStore, hashApiKey, type Store } from "../../server/index.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { json, sleep, useLarder } from "../harness/fixture.js";
import { overrideStore } from "../harness/store-override.js";

const serialize = (msg: HealthCheckRequest): Buffer => Buffer.from(toBinary(HealthCheckRequestSchema, msg));
const deserialize = (buf: Buffer): HealthCheckResponse => fromBinary(HealthCheckResponseSchema, buf);

/** A grpc.health.v1 client on @grpc/grpc-js, as Kubernetes' gRPC probe or Envoy would call. */
class HealthClient {
  private readonly client: grpc.Client;

  constructor(port: number) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  check(service = ""): Promise<Status> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        serialize,
        deserialize,
        create(HealthCheckRequestSchema, { service }),
        new grpc.Metadata(),
        { deadline: Date.now() + 5000 },
        (err, res) => (err !== null || res === undefined ? reject(err ?? new Error("no response")) : resolve(res.status)),
      );
    });
  }

  /** Starts a Watch; `statuses` fills as updates arrive, `ended` settles with the final status code. */
  watch(service = ""): { statuses: Status[]; ended: Promise<grpc.status>; cancel(): void } {
    const statuses: Status[] = [];
    const call = this.client.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      serialize,
      deserialize,
      create(HealthCheckRequestSchema, { service }),
      new grpc.Metadata(),
    );
    call.on("data", (res: HealthCheckResponse) => statuses.push(res.status));
    const ended = new Promise<grpc.status>((resolve) => call.on("status", (s: grpc.StatusObject) => resolve(s.code)));
    call.on("error", () => {});
    return { statuses, ended, cancel: () => call.cancel() };
  }

  close(): void {
    this.client.close();
  }
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

const checkIs = (client: HealthClient, status: Status, service = "") => async () =>
  (await client.check(service).catch(() => undefined)) === status;

describe("health: follows the store (real redis-server)", () => {
  const larder = useLarder("redis", { healthPollIntervalMs: 100 });
  let client: HealthClient;
  beforeAll(() => {
    client = new HealthClient(larder.server.port);
  });
  afterAll(() => client.close());

  it("is SERVING, NOT_SERVING while Redis is down, and SERVING again after, for Check, Watch and /readyz", async () => {
    const redis = larder.redis;
    if (redis === undefined) throw new Error("no redis");
    await eventually("SERVING", checkIs(client, Status.SERVING));
    expect(await client.check("larder.v1.CacheService")).toBe(Status.SERVING);
    const watch = client.watch();
    const watchService = client.watch("larder.v1.CacheService");
    await eventually("first Watch update", () => watch.statuses.length > 0 && watchService.statuses.length > 0);
    expect((await fetch(`${larder.server.url}/readyz`)).status).toBe(200);

    await redis.stop();
    await eventually("NOT_SERVING", checkIs(client, Status.NOT_SERVING));
    expect(await client.check("larder.v1.CacheService")).toBe(Status.NOT_SERVING);
    const notReady = await fetch(`${larder.server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe("NOT_SERVING\n");
    // Liveness stays up: the process is fine, only its store is not.
    expect((await fetch(`${larder.server.url}/healthz`)).status).toBe(200);

    await redis.restart();
    await eventually("SERVING again", checkIs(client, Status.SERVING));
    expect((await fetch(`${larder.server.url}/readyz`)).status).toBe(200);
    await eventually("Watch saw the recovery", () => watch.statuses.length >= 3 && watchService.statuses.length >= 3);
    expect(watch.statuses).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
    expect(watchService.statuses).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
    watch.cancel();
    watchService.cancel();
    expect(await watch.ended).toBe(grpc.status.CANCELLED);
    // The cache works again on its own.
    await eventually("cache answers", () =>
      cacheClient(larder.server.url, { namespace: freshNamespace() })
        .set({ key: "k", value: json(1) })
        .then(() => true, () => false),
    );
  });
});

describe("health: services, auth and plain HTTP", () => {
  let server: Awaited<ReturnType<typeof startLarder>>;
  let client: HealthClient;
  beforeAll(async () => {
    // Auth on: probes and tools still need no key.
    server = await startLarder(createMemoryStore(), {
      apiKeys: [{ sha256: hashApiKey("health-test"), namespace: "app" }],
    });
    client = new HealthClient(server.port);
    await eventually("SERVING", checkIs(client, Status.SERVING));
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("answers Check without an API key", async () => {
    expect(await client.check()).toBe(Status.SERVING);
    expect(await client.check("larder.v1.CacheService")).toBe(Status.SERVING);
  });

  it("answers NOT_FOUND for an unknown service, and SERVICE_UNKNOWN on Watch", async () => {
    const err = (await client.check("no.such.Service").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    const watch = client.watch("no.such.Service");
    await eventually("Watch update", () => watch.statuses.length > 0);
    expect(watch.statuses).toEqual([Status.SERVICE_UNKNOWN]);
    watch.cancel();
    // The server ends its side too, so a cancelled watcher holds nothing open.
    const canceled = /^larder_rpc_requests_total\{service="grpc\.health\.v1\.Health",method="Watch",protocol="grpc",code="canceled"\} 1$/m;
    await eventually("Watch ended on the server", async () => canceled.test(await (await fetch(`${server.url}/metrics`)).text()));
  });

  it("serves /healthz and /readyz over HTTP/1.1, with HEAD, and refuses other methods", async () => {
    const live = await fetch(`${server.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.text()).toBe("ok\n");
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("SERVING\n");
    expect((await fetch(`${server.url}/readyz`, { method: "HEAD" })).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`, { method: "POST" })).status).toBe(405);
  });

  it("serves /readyz over HTTP/2 too", async () => {
    const http2 = await import("node:http2");
    const session = http2.connect(server.url);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ":path": "/readyz" });
        req.on("response", (headers) => resolve(Number(headers[":status"])));
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe("health: graceful shutdown", () => {
  it("turns NOT_SERVING as soon as shutdown starts, before calls in flight finish, and ends Watch streams", async () => {
    // A store whose reads take a while, so that a call is still in flight
    // when shutdown starts.
    const memory = createMemoryStore();
    const slow = overrideStore(memory, {
      get: async (...args: Parameters<Store["get"]>) => {
        await sleep(500);
        return memory.get(...args);
      },
    });
    const server = await startLarder(slow, { drainTimeoutMs: 5000 });
    const client = new HealthClient(server.port);
    try {
      await eventually("SERVING", checkIs(client, Status.SERVING));
      const watch = client.watch();
      await eventually("first Watch update", () => watch.statuses.length > 0);
      const inFlight = cacheClient(server.url, { namespace: freshNamespace() }).get({ key: "k" });
      await sleep(100);

      const closed = server.close();
      expect(server.health.serving).toBe(false);
      expect(await watch.ended).toBe(grpc.status.OK);
      expect(watch.statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
      // The call that was already running still completes.
      expect((await inFlight).found).toBe(false);
      await closed;
    } finally {
      client.close();
      await server.close();
    }
  });
});
