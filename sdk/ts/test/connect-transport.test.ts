import { afterEach, describe, expect, it } from "vitest";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createClient, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createCache, CacheService, Code, LarderError } from "../src/index.js";
import { createUnaryConnectTransport } from "../src/connect-unary-transport.js";

/**
 * The SDK's own Connect transport against scripted HTTP/1.1 servers, for
 * what a real Larder server does not do on demand: never answer, answer
 * with a proxy's error page, drop the connection.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void;

interface Request {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

interface FakeServer {
  url: string;
  requests: Request[];
  /** Connections accepted so far. */
  connections(): number;
  /** Connections still open. */
  open(): number;
  close(): Promise<void>;
}

const servers: FakeServer[] = [];

async function fakeServer(handler: Handler): Promise<FakeServer> {
  const requests: Request[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      handler(req, res, requests.length - 1);
    });
  });
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(fake);
  return fake;
}

/** Answers a HasRequest with `found: true` (field 1, varint 1). */
function answerFound(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "application/proto" }).end(Buffer.from([0x08, 0x01]));
}

function answer(res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: string): void {
  res.writeHead(status, headers).end(body);
}

async function rejection(call: Promise<unknown>): Promise<LarderError> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LarderError);
  return err as LarderError;
}

async function connectRejection(call: Promise<unknown>): Promise<ConnectError> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

/** Waits until `check` holds, for what a peer learns a moment later. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("@larder/sdk own Connect transport", () => {
  it("sends the method, the body, the deadline and the cache headers", async () => {
    const server = await fakeServer((_req, res) => answerFound(res));
    const c = createCache({ url: server.url, protocol: "connect", timeoutMs: 1234, namespace: "ns-t", apiKey: "k1" });
    expect(await c.has("k")).toBe(true);
    await c.close();
    const [req] = server.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/larder.v1.CacheService/Has");
    expect(req?.headers["content-type"]).toBe("application/proto");
    expect(req?.headers["connect-protocol-version"]).toBe("1");
    expect(req?.headers["connect-timeout-ms"]).toBe("1234");
    expect(req?.headers["content-length"]).toBe("3");
    expect(req?.headers["larder-namespace"]).toBe("ns-t");
    expect(req?.headers["authorization"]).toBe("Bearer k1");
    // HasRequest{key: "k"}: field 1, length 1, "k".
    expect([...(req?.body ?? [])]).toEqual([0x0a, 0x01, 0x6b]);
  });

  it("keeps one connection alive across calls, and close() destroys it", async () => {
    const server = await fakeServer((_req, res) => answerFound(res));
    const c = createCache({ url: server.url, protocol: "connect" });
    expect(await c.has("a")).toBe(true);
    expect(await c.has("b")).toBe(true);
    expect(server.connections()).toBe(1);
    expect(server.open()).toBe(1);
    await c.close();
    await eventually(() => server.open() === 0);
    expect((await rejection(c.has("k"))).code).toBe(Code.FailedPrecondition);
  });

  it("fails with DEADLINE_EXCEEDED when the server never answers, without retrying", async () => {
    const server = await fakeServer(() => {});
    const c = createCache({ url: server.url, protocol: "connect", timeoutMs: 100, retries: 3 });
    const started = performance.now();
    const err = await rejection(c.get("k"));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(server.requests).toHaveLength(1);
    // The abandoned request's socket is not left to a later call.
    await eventually(() => server.open() === 0);
    await c.close();
  });

  it("maps a Connect error body, its details and its trailers", async () => {
    const detail = { type: "google.rpc.ErrorInfo", value: Buffer.from([0x0a, 0x01, 0x78]).toString("base64") };
    const body = JSON.stringify({ code: "invalid_argument", message: "key: too long", details: [detail] });
    const server = await fakeServer((_req, res) =>
      answer(res, 400, { "content-type": "application/json", "trailer-x-why": "limits" }, body),
    );
    const c = createCache({ url: server.url, protocol: "connect", retries: 3 });
    const err = await rejection(c.has("k"));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toBe("key: too long");
    const cause = err.cause as ConnectError;
    expect(cause.details).toHaveLength(1);
    expect(cause.metadata.get("x-why")).toBe("limits");
    expect(server.requests).toHaveLength(1);
    await c.close();
  });

  it("retries an idempotent call answered by an HTTP 503 without a JSON body", async () => {
    const server = await fakeServer((_req, res, index) => {
      if (index === 0) answer(res, 503, { "content-type": "text/html" }, "<h1>busy</h1>");
      else answerFound(res);
    });
    const c = createCache({ url: server.url, protocol: "connect", retries: 2 });
    expect(await c.has("k")).toBe(true);
    expect(server.requests).toHaveLength(2);
    await c.close();
  });

  it("does not retry a non-idempotent call answered by an HTTP 503", async () => {
    const server = await fakeServer((_req, res) => answer(res, 503, {}, ""));
    const c = createCache({ url: server.url, protocol: "connect", retries: 2 });
    const err = await rejection(c.increment("n"));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toBe("HTTP 503");
    expect(server.requests).toHaveLength(1);
    await c.close();
  });

  it("reports a refused connection as UNAVAILABLE", async () => {
    const server = await fakeServer(() => {});
    const { url } = server;
    await server.close();
    const c = createCache({ url, protocol: "connect", retries: 1 });
    const err = await rejection(c.has("k"));
    expect(err.code).toBe(Code.Unavailable);
    await c.close();
  });

  it("retries an idempotent call whose connection dropped before the answer", async () => {
    const server = await fakeServer((req, res, index) => {
      if (index === 0) req.socket.destroy();
      else answerFound(res);
    });
    const c = createCache({ url: server.url, protocol: "connect", retries: 2 });
    expect(await c.has("k")).toBe(true);
    expect(server.requests).toHaveLength(2);
    await c.close();
  });

  it("cancels a call when its signal aborts", async () => {
    const server = await fakeServer(() => {});
    const transport = createUnaryConnectTransport({ baseUrl: server.url });
    const client = createClient(CacheService, transport);
    const controller = new AbortController();
    const call = client.has({ key: "k" }, { signal: controller.signal });
    await eventually(() => server.requests.length === 1);
    controller.abort();
    expect((await connectRejection(call)).code).toBe(Code.Canceled);
    await eventually(() => server.open() === 0);
    transport.close();
  });

  it("refuses a response larger than readMaxBytes", async () => {
    const server = await fakeServer((_req, res) => answer(res, 200, { "content-type": "application/proto" }, "x".repeat(100)));
    const transport = createUnaryConnectTransport({ baseUrl: server.url, readMaxBytes: 10 });
    const client = createClient(CacheService, transport);
    expect((await connectRejection(client.has({ key: "k" }))).code).toBe(Code.ResourceExhausted);
    transport.close();
  });

  it("keeps the base URL's path, like connect", async () => {
    const server = await fakeServer((_req, res) => answerFound(res));
    const transport = createUnaryConnectTransport({ baseUrl: `${server.url}/api/` });
    expect((await createClient(CacheService, transport).has({ key: "k" })).found).toBe(true);
    expect(server.requests[0]?.url).toBe("/api/larder.v1.CacheService/Has");
    transport.close();
  });
});

describe("@larder/sdk own Connect transport, compared with connect-node's", () => {
  const cases: [string, Handler][] = [
    ["a Connect error", (_q, r) => answer(r, 404, { "content-type": "application/json" }, '{"code":"not_found","message":"no"}')],
    ["an unknown code", (_q, r) => answer(r, 429, { "content-type": "application/json" }, '{"code":"bogus","message":"slow"}')],
    ["JSON that is no error", (_q, r) => answer(r, 500, { "content-type": "application/json" }, "[1]")],
    ["a body that is not JSON", (_q, r) => answer(r, 502, { "content-type": "application/json" }, "<html>")],
    ["a status without a body", (_q, r) => answer(r, 401, {}, "")],
    ["a binary error body", (_q, r) => answer(r, 504, { "content-type": "application/proto" }, "x")],
    ["a wrong content type", (_q, r) => answer(r, 200, { "content-type": "text/plain" }, "hi")],
    ["a streaming content type", (_q, r) => answer(r, 200, { "content-type": "application/connect+proto" }, "")],
    ["a JSON answer", (_q, r) => answer(r, 200, { "content-type": "application/json" }, "{}")],
    ["an unparsable message", (_q, r) => answer(r, 200, { "content-type": "application/proto" }, "\xff")],
    ["an unoffered encoding", (_q, r) => answer(r, 200, { "content-type": "application/proto", "content-encoding": "zstd" }, "")],
  ];

  it.each(cases)("maps %s to the same code and message", async (_name, handler) => {
    const server = await fakeServer(handler);
    const agent = new http.Agent({ keepAlive: true });
    const theirs: Transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", nodeOptions: { agent } });
    const ours = createUnaryConnectTransport({ baseUrl: server.url });
    const [a, b] = await Promise.all(
      [theirs, ours].map((t) => connectRejection(createClient(CacheService, t).has({ key: "k" }))),
    );
    expect({ code: b?.code, message: b?.rawMessage, details: b?.details.length }).toEqual({
      code: a?.code,
      message: a?.rawMessage,
      details: a?.details.length,
    });
    agent.destroy();
    ours.close();
  });
});
