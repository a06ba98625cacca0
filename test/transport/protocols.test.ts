import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gunzipSync, gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createClient } from "@connectrpc/connect";
import {
  CacheService,
  GetRequestSchema,
  GetResponseSchema,
  SetRequestSchema,
  SetResponseSchema,
} from "../../server/gen/larder/v1/cache_pb.js";
import { createMemoryStore, type LarderServer } from "../../server/index.js";
import { cacheClient, freshNamespace, startLarder, type Protocol } from "../harness/larder.js";
import { expectCode, json } from "../harness/fixture.js";

let server: LarderServer;
beforeAll(async () => {
  server = await startLarder(createMemoryStore());
});
afterAll(async () => {
  await server.close();
});

describe.each<Protocol>(["grpc", "connect-h2", "connect-h1", "grpc-web-h1"])("transport: %s", (protocol) => {
  it("sets and gets a value", async () => {
    const c = cacheClient(server.url, { protocol, namespace: freshNamespace() });
    await c.set({ key: "k", value: json({ via: protocol }) });
    const got = await c.get({ key: "k" });
    expect(got.value?.kind).toEqual({ case: "json", value: JSON.stringify({ via: protocol }) });
  });

  it("carries error codes and messages", async () => {
    const c = cacheClient(server.url, { protocol, namespace: freshNamespace() });
    await expectCode(c.get({ key: "" }), Code.InvalidArgument, /^key: must not be empty$/);
  });

  it("reads the namespace from request metadata", async () => {
    const ns = freshNamespace();
    await cacheClient(server.url, { protocol, namespace: ns }).set({ key: "k", value: json(1) });
    expect((await cacheClient(server.url, { protocol: "grpc", namespace: ns }).has({ key: "k" })).found).toBe(true);
    expect((await cacheClient(server.url, { protocol, namespace: freshNamespace() }).has({ key: "k" })).found).toBe(false);
  });
});

describe("transport: gRPC with gzip", () => {
  it("accepts and answers compressed messages", async () => {
    const transport = createGrpcTransport({
      baseUrl: server.url,
      sendCompression: { name: "gzip", compress: gzip, decompress: gunzip },
      acceptCompression: [{ name: "gzip", compress: gzip, decompress: gunzip }],
      compressMinBytes: 1,
    });
    const c = createClient(CacheService, transport);
    const big = JSON.stringify("z".repeat(100_000));
    await c.set({ key: "gz", value: { kind: { case: "json", value: big } } }, { headers: { "larder-namespace": "gz" } });
    const got = await c.get({ key: "gz" }, { headers: { "larder-namespace": "gz" } });
    expect(got.value?.kind.value).toBe(big);
  });
});

describe("transport: @grpc/grpc-js client", () => {
  let client: grpc.Client;
  beforeAll(() => {
    client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => client.close());

  function unary<I extends DescMessage, O extends DescMessage>(
    method: string,
    input: I,
    output: O,
    request: MessageInitShape<I>,
    metadata: grpc.Metadata,
    deadlineMs = 5000,
  ): Promise<MessageShape<O>> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        `/larder.v1.CacheService/${method}`,
        (msg: MessageShape<I>) => Buffer.from(toBinary(input, msg)),
        (buf: Buffer) => fromBinary(output, buf),
        create(input, request),
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err !== null || res === undefined ? reject(err ?? new Error("no response")) : resolve(res)),
      );
    });
  }

  it("sets and gets over plain gRPC with metadata", async () => {
    const md = new grpc.Metadata();
    md.set("larder-namespace", freshNamespace());
    const set = await unary("Set", SetRequestSchema, SetResponseSchema, { key: "k", value: json([1, 2, 3]) }, md);
    expect(set.applied).toBe(true);
    const got = await unary("Get", GetRequestSchema, GetResponseSchema, { key: "k" }, md);
    expect(got.value?.kind).toEqual({ case: "json", value: "[1,2,3]" });
  });

  it("sees gRPC status codes and messages", async () => {
    const err = await unary("Get", GetRequestSchema, GetResponseSchema, { key: "" }, new grpc.Metadata()).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toBe("key: must not be empty");
  });
});

describe("transport: Connect JSON over HTTP/1.1 (fetch, as curl would)", () => {
  const post = (method: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/larder.v1.CacheService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  it("sets and gets with plain JSON", async () => {
    const ns = { "larder-namespace": freshNamespace() };
    const set = await post("Set", { key: "k", value: { json: '{"a":1}' }, ttlMs: "60000" }, ns);
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ applied: true, created: true });
    const get = await post("Get", { key: "k" }, ns);
    const body = (await get.json()) as { found: boolean; value: { json: string }; metadata: { expiresAt: string } };
    expect(body.found).toBe(true);
    expect(JSON.parse(body.value.json)).toEqual({ a: 1 });
    expect(Date.parse(body.metadata.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it("answers a miss with {} (found is false by default)", async () => {
    const get = await post("Get", { key: "missing" }, { "larder-namespace": freshNamespace() });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({});
  });

  it("answers errors as Connect JSON errors without internals", async () => {
    const res = await post("Set", { key: "k", value: { json: "not json" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "invalid_argument",
      message: "value.json: is not a valid JSON document (a string value needs quotes)",
    });
    const malformed = await fetch(`${server.url}/larder.v1.CacheService/Get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
    const text = await malformed.text();
    expect(text).not.toMatch(/\n\s+at /);
  });

  it("answers an unknown path with 404", async () => {
    expect((await post("Nope", {})).status).toBe(404);
  });
});

function gzip(data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return Promise.resolve(new Uint8Array(gzipSync(data)));
}

function gunzip(data: Uint8Array, readMaxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  return Promise.resolve(new Uint8Array(gunzipSync(data, { maxOutputLength: readMaxBytes })));
}
