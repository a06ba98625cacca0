import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { createMemoryStore, hashApiKey, type LarderServer } from "../../server/index.js";
import {
  GetRequestSchema,
  GetResponseSchema,
  SetRequestSchema,
  SetResponseSchema,
} from "../../server/gen/larder/v1/cache_pb.js";
import { LockRequestSchema, LockResponseSchema } from "../../server/gen/larder/v1/lock_pb.js";
import { json, sleep } from "../harness/fixture.js";
import { freshNamespace, startLarder } from "../harness/larder.js";
import { overrideStore } from "../harness/store-override.js";

// The plain-gRPC fast path (server/grpc-fast-path.ts) serves these calls
// without connect-node; every behaviour a gRPC client can see is checked here.
const slowGetMs = 3000;
const maxRequestBytes = 4096;
let server: LarderServer;
let authServer: LarderServer;
let client: grpc.Client;

beforeAll(async () => {
  const memory = createMemoryStore();
  const store = overrideStore(memory, {
    get: async (ns, key, touch) => {
      if (key === "slow") await sleep(slowGetMs);
      return memory.get(ns, key, touch);
    },
  });
  server = await startLarder(store, { maxRequestBytes });
  authServer = await startLarder(createMemoryStore(), {
    apiKeys: [
      { sha256: hashApiKey("reader"), namespace: "ro", permissions: ["read"] },
      { sha256: hashApiKey("writer"), namespace: "rw" },
    ],
  });
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await server.close();
  await authServer.close();
});

function unary<I extends DescMessage, O extends DescMessage>(
  c: grpc.Client,
  method: string,
  schemas: [I, O],
  request: MessageInitShape<I>,
  metadata: Record<string, string> = {},
  deadlineMs = 5000,
): Promise<MessageShape<O>> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const [input, output] = schemas;
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(
      `/larder.v1.CacheService/${method}`,
      (msg: MessageShape<I>) => Buffer.from(toBinary(input, msg)),
      (buf: Buffer) => fromBinary(output, buf),
      create(input, request),
      md,
      { deadline: Date.now() + deadlineMs },
      (err, res) => (err !== null || res === undefined ? reject(err ?? new Error("no response")) : resolve(res)),
    );
  });
}

async function failure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await call.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  expect(err, "the call should have failed").toBeDefined();
  return err as grpc.ServiceError;
}

const get: [typeof GetRequestSchema, typeof GetResponseSchema] = [GetRequestSchema, GetResponseSchema];
const set: [typeof SetRequestSchema, typeof SetResponseSchema] = [SetRequestSchema, SetResponseSchema];
const lock: [typeof LockRequestSchema, typeof LockResponseSchema] = [LockRequestSchema, LockResponseSchema];

/** What a raw HTTP/2 gRPC call answered: headers, and trailers when not trailers-only. */
interface RawAnswer {
  readonly headers: http2.IncomingHttpHeaders;
  readonly status: string | undefined;
  readonly message: string | undefined;
  readonly body: Buffer;
}

/** One gRPC call with hand-made frames, to send what no client library would. */
async function rawCall(port: number, path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
      let head: http2.IncomingHttpHeaders = {};
      let tail: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on("response", (h) => (head = h));
      req.on("trailers", (t) => (tail = t));
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", reject);
      req.on("end", () => {
        const all = { ...head, ...tail };
        resolve({
          headers: head,
          status: all["grpc-status"] as string | undefined,
          message: all["grpc-message"] as string | undefined,
          body: Buffer.concat(chunks),
        });
      });
      req.end(body);
    });
  } finally {
    session.close();
  }
}

function frame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

describe("gRPC fast path", () => {
  it("answers plain gRPC itself, with the namespace from metadata", async () => {
    const a = freshNamespace();
    await unary(client, "Set", set, { key: "k", value: json("a") }, { "larder-namespace": a });
    expect((await unary(client, "Get", get, { key: "k" }, { "larder-namespace": a })).found).toBe(true);
    expect((await unary(client, "Get", get, { key: "k" }, { "larder-namespace": freshNamespace() })).found).toBe(false);
    const raw = await rawCall(server.port, "/larder.v1.CacheService/Get", frame(toBinary(GetRequestSchema, create(GetRequestSchema, { key: "k" }))), {
      "larder-namespace": a,
    });
    expect(raw.status).toBe("0");
    // The fast path's own header: connect-node would offer "gzip,br".
    expect(raw.headers["grpc-accept-encoding"]).toBe("gzip");
    expect(fromBinary(GetResponseSchema, raw.body.subarray(5)).found).toBe(true);
  });

  it("maps errors to gRPC codes with spec-encoded messages", async () => {
    const err = await failure(unary(client, "Get", get, { key: "" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe("key: must not be empty");
    const bad = await failure(unary(client, "Get", get, { key: "k" }, { "larder-namespace": "n".repeat(200) }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toBe("larder-namespace: 200 bytes exceeds the namespace limit of 128 bytes");
  });

  it("runs the same auth gate: UNAUTHENTICATED, PERMISSION_DENIED, then OK", async () => {
    const c = new grpc.Client(`127.0.0.1:${authServer.port}`, grpc.credentials.createInsecure());
    try {
      expect((await failure(unary(c, "Get", get, { key: "k" }))).code).toBe(grpc.status.UNAUTHENTICATED);
      const denied = await failure(unary(c, "Set", set, { key: "k", value: json(1) }, { authorization: "Bearer reader" }));
      expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(denied.details).toContain('lacks the "write" permission');
      await unary(c, "Set", set, { key: "k", value: json(1) }, { authorization: "Bearer writer" });
      expect((await unary(c, "Get", get, { key: "k" }, { authorization: "Bearer writer" })).found).toBe(true);
    } finally {
      c.close();
    }
  });

  it("answers DEADLINE_EXCEEDED itself when grpc-timeout passes", async () => {
    const started = Date.now();
    const body = frame(toBinary(GetRequestSchema, create(GetRequestSchema, { key: "slow" })));
    const raw = await rawCall(server.port, "/larder.v1.CacheService/Get", body, { "grpc-timeout": "200m" });
    expect(raw.status).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(Date.now() - started).toBeLessThan(slowGetMs);
    const viaClient = await failure(unary(client, "Get", get, { key: "slow" }, {}, 200));
    expect(viaClient.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it("treats a grpc-timeout beyond what a timer holds as no deadline", async () => {
    // Node fires a timer over 2^31-1 ms after 1 ms; armed as is, this call
    // would fail at once instead of after the slow read.
    const body = frame(toBinary(GetRequestSchema, create(GetRequestSchema, { key: "slow" })));
    const raw = await rawCall(server.port, "/larder.v1.CacheService/Get", body, { "grpc-timeout": "99999999H" });
    expect(raw.status).toBe("0");
  });

  it("ends a Lock wait before the caller's deadline, with the holder", async () => {
    const md = { "larder-namespace": freshNamespace() };
    const first = await unary(client, "Lock", lock, { name: "l", ttlMs: 10_000n, owner: "first" }, md);
    expect(first.acquired).toBe(true);
    const started = Date.now();
    const second = await unary(client, "Lock", lock, { name: "l", waitMs: 10_000n, owner: "second" }, md, 800);
    expect(second.acquired).toBe(false);
    expect(second.holder?.owner).toBe("first");
    expect(Date.now() - started).toBeLessThan(800);
  });

  it("refuses a request message over maxRequestBytes with RESOURCE_EXHAUSTED", async () => {
    const big = "x".repeat(maxRequestBytes * 2);
    const err = await failure(unary(client, "Set", set, { key: "k", value: json(big) }));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain("4096 bytes (4 KiB)");
    // A small gzip body that inflates past the limit is refused too.
    const bomb = gzipSync(toBinary(SetRequestSchema, create(SetRequestSchema, { key: "k", value: json(big) })));
    const raw = await rawCall(server.port, "/larder.v1.CacheService/Set", frame(bomb, true), { "grpc-encoding": "gzip" });
    expect(raw.status).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
  });

  it("accepts gzip-compressed requests", async () => {
    const gz = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), {
      "grpc.default_compression_algorithm": 2,
    });
    try {
      const md = { "larder-namespace": freshNamespace() };
      const value = json("y".repeat(1000));
      await unary(gz, "Set", set, { key: "z", value }, md);
      expect((await unary(gz, "Get", get, { key: "z" }, md)).value?.kind.value).toBe(value.kind.value);
    } finally {
      gz.close();
    }
    const msg = gzipSync(toBinary(GetRequestSchema, create(GetRequestSchema, { key: "z" })));
    const raw = await rawCall(server.port, "/larder.v1.CacheService/Get", frame(msg, true), { "grpc-encoding": "gzip" });
    expect(raw.status).toBe("0");
  });

  it("answers UNIMPLEMENTED for an unknown method", async () => {
    const err = await failure(unary(client, "NoSuchMethod", get, { key: "k" }));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    const raw = await rawCall(server.port, "/larder.v1.CacheService/Nope", frame(new Uint8Array()));
    expect(raw.status).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(raw.message).toBe("larder.v1.CacheService/Nope is not implemented");
  });

  it("survives malformed frames and keeps serving", async () => {
    const path = "/larder.v1.CacheService/Get";
    const cases: Buffer[] = [
      Buffer.alloc(0), // no message at all
      Buffer.from([0, 0, 0]), // a cut prefix
      Buffer.from([0, 0, 0, 0, 100, 1, 2, 3]), // promises 100 bytes, sends 3
      Buffer.concat([frame(new Uint8Array([10, 1, 0x6b])), frame(new Uint8Array())]), // two messages
      frame(new Uint8Array([0xff, 0xff, 0xff])), // not protobuf
      frame(new Uint8Array([1, 2, 3]), true), // compressed flag without grpc-encoding
      Buffer.from([4, 0, 0, 0, 0]), // unknown flag
    ];
    for (const body of cases) {
      const raw = await rawCall(server.port, path, body);
      expect([String(grpc.status.INTERNAL), String(grpc.status.INVALID_ARGUMENT)], body.toString("hex")).toContain(raw.status);
      expect(raw.message ?? "").not.toMatch(/\n\s+at /);
    }
    // A bad header is the caller's mistake, answered as connect-node answers it.
    const bad = await rawCall(server.port, path, frame(new Uint8Array()), { "grpc-timeout": "soon" });
    expect(bad.status).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(bad.message).toMatch(/invalid grpc timeout value: soon/);
    expect((await unary(client, "Get", get, { key: "k" })).found).toBe(false);
  });

  it("records the same metrics as connect-node, labelled grpc", async () => {
    await unary(client, "Get", get, { key: "metrics-miss" });
    const text = await server.metrics?.render();
    expect(text).toMatch(/larder_rpc_requests_total\{service="larder.v1.CacheService",method="Get",protocol="grpc",code="ok"\} \d+/);
    expect(text).toMatch(/larder_rpc_requests_total\{[^}]*method="Get",protocol="grpc",code="invalid_argument"\} \d+/);
    expect(text).toMatch(/larder_cache_misses_total\{method="Get"\} \d+/);
  });
});
