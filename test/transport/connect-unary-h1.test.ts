import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { hashApiKey, type LarderServer, type LarderServerOptions, type Store } from "../../server/index.js";
import { GetRequestSchema, GetResponseSchema } from "../../server/gen/larder/v1/cache_pb.js";
import { sleep } from "../harness/fixture.js";
import { freshNamespace, makeStore, startLarder, storeKinds } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";
import { overrideStore } from "../harness/store-override.js";

// The HTTP/1.1 Connect fast path (server/connect-unary-h1.ts) must answer
// exactly what connect-node answers. Every request here goes to a server
// with the fast path and to one without it, over the same store, and the
// answers are compared byte for byte.
const maxRequestBytes = 4096;
const limits = { maxKeyBytes: 64, maxValueBytes: 2048 };
const slowGetMs = 1500;

/** What a server answered, as a client sees it. */
interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Call {
  readonly path: string;
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
  /** Send the body chunked, without a content-length. */
  readonly chunked?: boolean;
}

function request(port: number, call: Call): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = typeof call.body === "string" ? Buffer.from(call.body) : call.body;
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: call.path,
        headers: { "content-type": "application/json", ...(call.chunked === true ? {} : { "content-length": body.length }), ...call.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (call.chunked === true) req.write(body);
    req.end(call.chunked === true ? undefined : body);
  });
}

/** An answer as a client sees it, but for its Date header. */
function visible(answer: Answer): Record<string, unknown> {
  const headers = { ...answer.headers };
  delete headers.date;
  return { status: answer.status, headers, body: answer.body.toString("base64") };
}

const rpc = (method: string): string => `/larder.v1.CacheService/${method}`;

// Reads stamp lastReadAt, so two reads of one entry differ in that field
// alone; it is dropped so that hits compare byte for byte. A key named
// "slow" takes slowGetMs, for deadlines.
function comparable(store: Store, closes: boolean): Store {
  return overrideStore(store, {
    get: async (ns, key, touch) => {
      if (key === "slow") await sleep(slowGetMs);
      const entry = await store.get(ns, key, touch);
      return entry === undefined ? undefined : { ...entry, meta: { ...entry.meta, lastReadAt: undefined } };
    },
    ...(closes ? {} : { close: async () => {} }),
  });
}

/** A server with the fast path and one without, over one store. */
interface Pair {
  fast: LarderServer;
  slow: LarderServer;
}

async function startPair(store: Store, options: Omit<LarderServerOptions, "store">): Promise<Pair> {
  const fast = await startLarder(comparable(store, false), options);
  const slow = await startLarder(comparable(store, true), { ...options, connectUnaryFastPath: false });
  return { fast, slow };
}

describe.each(storeKinds)("Connect unary over HTTP/1.1, fast path vs connect-node (%s store)", (kind) => {
  let redis: RedisServer | undefined;
  let open: Pair;
  let auth: Pair;

  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    open = await startPair(makeStore(kind, redis?.url), { maxRequestBytes, limits });
    auth = await startPair(makeStore(kind, redis?.url), {
      maxRequestBytes,
      limits,
      apiKeys: [
        { sha256: hashApiKey("reader"), namespace: "ro", permissions: ["read"] },
        { sha256: hashApiKey("writer"), namespace: "ro" },
      ],
    });
  }, 30_000);
  afterAll(async () => {
    for (const pair of [open, auth]) {
      await pair.fast.close();
      await pair.slow.close();
    }
    await redis?.stop();
  });

  /** Sends one call to both servers, expects the same answer, and returns it. */
  async function both(call: Call, pair: Pair = open): Promise<Answer> {
    const fast = await request(pair.fast.port, call);
    const slow = await request(pair.slow.port, call);
    expect(visible(fast)).toEqual(visible(slow));
    return fast;
  }

  function json(answer: Answer): unknown {
    return JSON.parse(answer.body.toString("utf8"));
  }

  async function set(key: string, value: unknown, ns: string): Promise<void> {
    const res = await request(open.fast.port, {
      path: rpc("Set"),
      body: JSON.stringify({ key, value: { json: JSON.stringify(value) }, ttlMs: "60000" }),
      headers: { "larder-namespace": ns },
    });
    expect(res.status).toBe(200);
  }

  it("answers hits and misses with the same JSON", async () => {
    const ns = freshNamespace();
    await set("k", { a: 1 }, ns);
    const hit = await both({ path: rpc("Get"), body: '{"key":"k"}', headers: { "larder-namespace": ns } });
    expect(hit.status).toBe(200);
    expect(hit.headers["content-type"]).toBe("application/json");
    expect(json(hit)).toMatchObject({ found: true, value: { json: '{"a":1}' } });
    const miss = await both({ path: rpc("Get"), body: '{"key":"nope"}', headers: { "larder-namespace": ns } });
    expect(json(miss)).toEqual({});
    await both({ path: rpc("Has"), body: '{"key":"k"}', headers: { "larder-namespace": ns } });
    await both({ path: rpc("Delete"), body: '{"keys":["nope"]}', headers: { "larder-namespace": ns } });
  });

  it("accepts the charset and protocol-version variants connect-node accepts", async () => {
    const ns = freshNamespace();
    await set("k", 1, ns);
    for (const headers of [
      { "content-type": "application/json; charset=utf-8" },
      { "content-type": "application/json;charset=UTF-8" },
      { "connect-protocol-version": "1" },
      { "connect-protocol-version": "2" },
      { "content-type": "text/plain" },
      { "content-encoding": "identity" },
    ]) {
      await both({ path: rpc("Get"), body: '{"key":"k"}', headers: { "larder-namespace": ns, ...headers } });
    }
  });

  it("answers malformed requests with the same Connect errors", async () => {
    const badJson = await both({ path: rpc("Get"), body: "{not json" });
    expect(badJson.status).toBe(400);
    expect(json(badJson)).toMatchObject({ code: "invalid_argument" });
    expect(badJson.body.toString()).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
    await both({ path: rpc("Get"), body: "" });
    await both({ path: rpc("Get"), body: '{"key":5}' });
    await both({ path: rpc("Get"), body: "[1,2]" });
    await both({ path: rpc("Get"), body: Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]) });
    await both({ path: rpc("Get"), body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) });
    const unknownField = await both({ path: rpc("Get"), body: '{"key":"k","bogus":1}' });
    expect(unknownField.status).toBe(200);
    await both({ path: rpc("Get"), body: '{"key":"k"}', headers: { "connect-timeout-ms": "soon" } });
    await both({ path: rpc("Get"), body: '{"key":"k"}', headers: { "connect-timeout-ms": "9999999999" } });
  });

  it("answers limit and validation errors the same", async () => {
    const empty = await both({ path: rpc("Get"), body: '{"key":""}' });
    expect(json(empty)).toEqual({ code: "invalid_argument", message: "key: must not be empty" });
    const longKey = await both({ path: rpc("Get"), body: JSON.stringify({ key: "k".repeat(limits.maxKeyBytes + 1) }) });
    expect(longKey.status).toBe(400);
    const bigValue = await both({
      path: rpc("Set"),
      body: JSON.stringify({ key: "big", value: { json: JSON.stringify("v".repeat(limits.maxValueBytes)) } }),
      headers: { "larder-namespace": freshNamespace() },
    });
    expect(bigValue.status).toBe(400);
    expect(json(bigValue)).toMatchObject({ code: "invalid_argument" });
  });

  it("refuses a body over maxRequestBytes like connect-node", async () => {
    const body = JSON.stringify({ key: "k", value: { json: JSON.stringify("x".repeat(maxRequestBytes)) } });
    const tooBig = await both({ path: rpc("Set"), body });
    expect(tooBig.status).toBe(429);
    expect(json(tooBig)).toEqual({
      code: "resource_exhausted",
      message: `message size ${body.length} is larger than configured readMaxBytes ${maxRequestBytes}`,
    });
    // Without a declared length, connect-node drops the connection; the fast
    // path answers, then closes it.
    const chunked = await request(open.fast.port, { path: rpc("Set"), body, chunked: true });
    expect(chunked.status).toBe(429);
    expect(chunked.headers.connection).toBe("close");
    expect(json(chunked)).toEqual({ code: "resource_exhausted", message: `message size is larger than configured readMaxBytes ${maxRequestBytes}` });
  });

  it("answers auth errors the same", async () => {
    const call = { path: rpc("Set"), body: JSON.stringify({ key: "k", value: { json: "1" } }) };
    const missing = await both(call, auth);
    expect(missing.status).toBe(401);
    expect(json(missing)).toMatchObject({ code: "unauthenticated" });
    const unknown = await both({ ...call, headers: { authorization: "Bearer nobody" } }, auth);
    expect(unknown.status).toBe(401);
    const denied = await both({ ...call, headers: { authorization: "Bearer reader" } }, auth);
    expect(denied.status).toBe(403);
    expect(json(denied)).toMatchObject({ code: "permission_denied" });
    const written = await request(auth.fast.port, { ...call, headers: { authorization: "Bearer writer" } });
    expect(written.status).toBe(200);
    const read = await both({ path: rpc("Get"), body: '{"key":"k"}', headers: { authorization: "Bearer reader" } }, auth);
    expect(json(read)).toMatchObject({ found: true });
  });

  it("leaves unknown methods and other services to connect-node", async () => {
    const unknown = await both({ path: rpc("Nope"), body: "{}" });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    await both({ path: "/grpc.health.v1.Health/Check", body: "{}" });
    await both({ path: `${rpc("Get")}?x=1`, body: '{"key":"k"}' });
  });

  it("ends a lock wait before connect-timeout-ms, with the same answer", async () => {
    const ns = freshNamespace();
    const held = await request(open.fast.port, {
      path: rpc("Lock"),
      body: JSON.stringify({ name: "l", ttlMs: "10000", owner: "first" }),
      headers: { "larder-namespace": ns },
    });
    expect(json(held)).toMatchObject({ acquired: true });
    const started = Date.now();
    const waited = await both({
      path: rpc("Lock"),
      body: JSON.stringify({ name: "l", ttlMs: "10000", waitMs: "10000", owner: "second" }),
      headers: { "larder-namespace": ns, "connect-timeout-ms": "400" },
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(json(waited)).toMatchObject({ holder: { owner: "first" } });
  });

  it("answers DEADLINE_EXCEEDED when connect-timeout-ms passes", async () => {
    // connect-node answers a call that ignores its signal only when it ends;
    // the fast path answers at the deadline, like the gRPC fast path.
    const started = Date.now();
    const late = await request(open.fast.port, { path: rpc("Get"), body: '{"key":"slow"}', headers: { "connect-timeout-ms": "200" } });
    expect(Date.now() - started).toBeLessThan(slowGetMs);
    expect(late.status).toBe(504);
    expect(json(late)).toEqual({ code: "deadline_exceeded", message: "the call's deadline passed before it finished" });
  });

  it("serves application/proto the same", async () => {
    const ns = freshNamespace();
    await set("k", [1, 2], ns);
    const headers = { "content-type": "application/proto", "larder-namespace": ns };
    const hit = await both({ path: rpc("Get"), body: Buffer.from(toBinary(GetRequestSchema, create(GetRequestSchema, { key: "k" }))), headers });
    expect(hit.headers["content-type"]).toBe("application/proto");
    expect(fromBinary(GetResponseSchema, hit.body).value?.kind).toEqual({ case: "json", value: "[1,2]" });
    const bad = await both({ path: rpc("Get"), body: Buffer.from([0x0a, 0x05, 0x61]), headers });
    expect(bad.status).toBe(500);
    expect(bad.headers["content-type"]).toBe("application/json");
    await both({ path: rpc("Get"), body: Buffer.from(toBinary(GetRequestSchema, create(GetRequestSchema, { key: "" }))), headers });
  });

  it("compresses large answers as connect-node does", async () => {
    const ns = freshNamespace();
    await set("big", "z".repeat(1500), ns);
    for (const accept of ["gzip", "br", "deflate, gzip", "identity"]) {
      const res = await both({ path: rpc("Get"), body: '{"key":"big"}', headers: { "larder-namespace": ns, "accept-encoding": accept } });
      expect(res.status).toBe(200);
    }
    const gz = await request(open.fast.port, { path: rpc("Get"), body: '{"key":"big"}', headers: { "larder-namespace": ns, "accept-encoding": "gzip" } });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(gz.body).toString())).toMatchObject({ found: true });
  });

  it("hands gzip request bodies to connect-node", async () => {
    const ns = freshNamespace();
    await set("k", "zipped", ns);
    const res = await both({
      path: rpc("Get"),
      body: gzipSync('{"key":"k"}'),
      headers: { "larder-namespace": ns, "content-encoding": "gzip" },
    });
    expect(json(res)).toMatchObject({ found: true, value: { json: '"zipped"' } });
    await both({ path: rpc("Get"), body: gzipSync('{"key":"k"}'), headers: { "content-encoding": "zstd" } });
  });

  it("answers curl over HTTP/1.1", async () => {
    const ns = freshNamespace();
    await set("k", { via: "curl" }, ns);
    const curl = (port: number) =>
      promisify(execFile)("curl", [
        "-s",
        "--http1.1",
        "-H",
        "content-type: application/json",
        "-H",
        `larder-namespace: ${ns}`,
        "-d",
        '{"key":"k"}',
        "-w",
        "\n%{http_code} %{content_type}",
        `http://127.0.0.1:${port}${rpc("Get")}`,
      ]);
    const fast = await curl(open.fast.port);
    const slow = await curl(open.slow.port);
    expect(fast.stdout).toBe(slow.stdout);
    const [body, status] = fast.stdout.split("\n");
    expect(status).toBe("200 application/json");
    expect(JSON.parse(body ?? "")).toMatchObject({ found: true, value: { json: '{"via":"curl"}' } });
  });

  it("answers pipelined requests in order, and survives clients that go away", async () => {
    const ns = freshNamespace();
    await set("k", "v", ns);
    const head = (body: string) =>
      `POST ${rpc("Get")} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nlarder-namespace: ${ns}\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const pipelined = await new Promise<string>((resolve, reject) => {
      // Not half-closed: node:http drops the calls of a connection whose client ended it.
      const socket = net.connect(open.fast.port, "127.0.0.1", () => socket.write(head('{"key":"k"}') + head('{"key":""}')));
      let text = "";
      socket.on("data", (c: Buffer) => {
        text += c.toString();
        if (text.endsWith("}") && text.includes("HTTP/1.1 400")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
    });
    expect(pipelined.indexOf("HTTP/1.1 200")).toBeLessThan(pipelined.indexOf("HTTP/1.1 400"));
    expect(pipelined).toContain('{"code":"invalid_argument","message":"key: must not be empty"}');
    // Half a body, then gone; a whole call, then gone before the answer.
    for (const bytes of [head('{"key":"k"}').slice(0, -4), head('{"key":"slow"}')]) {
      const socket = net.connect(open.fast.port, "127.0.0.1", () => socket.write(bytes));
      socket.on("error", () => {});
      await sleep(50);
      socket.destroy();
    }
    const after = await request(open.fast.port, { path: rpc("Get"), body: '{"key":"k"}', headers: { "larder-namespace": ns } });
    expect(json(after)).toMatchObject({ found: true });
  });

  it("counts fast-path calls in the metrics as connect calls", async () => {
    const scrape = async () => (await fetch(`${open.fast.url}/metrics`)).text();
    await request(open.fast.port, { path: rpc("Get"), body: '{"key":"counted"}', headers: { "larder-namespace": freshNamespace() } });
    expect(await scrape()).toMatch(/method="Get"[^\n]*protocol="connect"|protocol="connect"[^\n]*method="Get"/);
  });
});
