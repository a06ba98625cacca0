import { afterEach, describe, expect, it } from "vitest";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createCache, CacheService, Code, LarderError } from "../src/index.js";
import { createUnaryGrpcTransport } from "../src/grpc-unary-transport.js";

/**
 * The SDK's own gRPC transport against scripted HTTP/2 servers, for what a
 * real Larder server does not do on demand: never answer, drop the
 * connection mid-call, answer with a trailers-only error.
 */

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, index: number) => void;

interface FakeServer {
  url: string;
  requests: http2.IncomingHttpHeaders[];
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const servers: FakeServer[] = [];

async function fakeServer(handler: Handler): Promise<FakeServer> {
  const requests: http2.IncomingHttpHeaders[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  let connections = 0;
  const server = http2.createServer();
  server.on("session", (s) => {
    connections++;
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    requests.push(headers);
    // Drain the request so that the client's DATA frame is consumed.
    stream.resume();
    // A reset stream reports an error on this side too; the client's view is what is tested.
    stream.on("error", () => {});
    handler(stream, headers, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(fake);
  return fake;
}

/** Answers a HasRequest with `found: true` (field 1, varint 1). */
function answerFound(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
}

async function rejection(call: Promise<unknown>): Promise<LarderError> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LarderError);
  return err as LarderError;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("@larder/sdk own gRPC transport", () => {
  it("sends the method, deadline and cache headers", async () => {
    const server = await fakeServer((stream) => answerFound(stream));
    const c = createCache({ url: server.url, timeoutMs: 1234, namespace: "ns-t", apiKey: "k1" });
    expect(await c.has("k")).toBe(true);
    await c.close();
    const [req] = server.requests;
    expect(req?.[":path"]).toBe("/larder.v1.CacheService/Has");
    expect(req?.["content-type"]).toBe("application/grpc+proto");
    expect(req?.["te"]).toBe("trailers");
    expect(req?.["grpc-timeout"]).toBe("1234m");
    expect(req?.["larder-namespace"]).toBe("ns-t");
    expect(req?.["authorization"]).toBe("Bearer k1");
  });

  it("fails with DEADLINE_EXCEEDED when the server never answers, without retrying", async () => {
    const server = await fakeServer(() => {});
    const c = createCache({ url: server.url, timeoutMs: 100, retries: 3 });
    const started = performance.now();
    const err = await rejection(c.get("k"));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(server.requests).toHaveLength(1);
    await c.close();
  });

  it("maps a trailers-only error status and its percent-encoded message", async () => {
    const server = await fakeServer((stream) => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "3", "grpc-message": "key%3A too long" },
        { endStream: true },
      );
    });
    const c = createCache({ url: server.url, retries: 3 });
    const err = await rejection(c.has("k"));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toBe("key: too long");
    expect(server.requests).toHaveLength(1);
    await c.close();
  });

  it("retries an idempotent call the server refused", async () => {
    const server = await fakeServer((stream, _headers, index) => {
      if (index === 0) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else answerFound(stream);
    });
    const c = createCache({ url: server.url, retries: 2 });
    expect(await c.has("k")).toBe(true);
    expect(server.requests).toHaveLength(2);
    await c.close();
  });

  it("does not retry a non-idempotent call the server refused", async () => {
    const server = await fakeServer((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    const c = createCache({ url: server.url, retries: 2 });
    const err = await rejection(c.increment("n"));
    expect(err.code).toBe(Code.Unavailable);
    expect(server.requests).toHaveLength(1);
    await c.close();
  });

  it("reports a connection dropped mid-call as CANCELLED, like connect-node, and reconnects", async () => {
    const server = await fakeServer((stream, _headers, index) => {
      if (index === 0) stream.session?.destroy();
      else answerFound(stream);
    });
    const c = createCache({ url: server.url, retries: 2 });
    expect((await rejection(c.has("k"))).code).toBe(Code.Canceled);
    expect(await c.has("k")).toBe(true);
    expect(server.requests).toHaveLength(2);
    await c.close();
  });

  it("works again after close is followed by a new cache on the same server", async () => {
    const server = await fakeServer((stream) => answerFound(stream));
    const a = createCache({ url: server.url });
    expect(await a.has("k")).toBe(true);
    await a.close();
    expect((await rejection(a.has("k"))).code).toBe(Code.FailedPrecondition);
    const b = createCache({ url: server.url });
    expect(await b.has("k")).toBe(true);
    await b.close();
  });

  it("reuses one connection, and replaces it after the idle timeout", async () => {
    const server = await fakeServer((stream) => answerFound(stream));
    const transport = createUnaryGrpcTransport({ baseUrl: server.url, idleConnectionTimeoutMs: 50 });
    const client = createClient(CacheService, transport);
    await Promise.all([client.has({ key: "a" }), client.has({ key: "b" })]);
    expect((await client.has({ key: "c" })).found).toBe(true);
    expect(server.connections()).toBe(1);
    await sleep(80);
    expect((await client.has({ key: "d" })).found).toBe(true);
    expect(server.connections()).toBe(2);
    transport.close();
  });
});
