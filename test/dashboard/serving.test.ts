import * as http2 from "node:http2";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { loadConfig } from "../../server/app/config.js";
import { AdminService } from "../../server/gen/larder/v1/admin_pb.js";
import { createMemoryStore, hashApiKey, type LarderServer } from "../../server/index.js";
import { quantileMs } from "../../server/service/stats.js";
import { expectCode, json } from "../harness/fixture.js";
import { cacheClient, freshNamespace, makeStore, startLarder, storeKinds, transportFor, type Protocol } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";
import { buildDashboard } from "./browser.js";

let assets: ReturnType<typeof buildDashboard>;
beforeAll(() => {
  assets = buildDashboard();
}, 60_000);
afterAll(() => assets?.remove());

function adminClient(url: string, headers: Record<string, string> = {}) {
  return createClient(
    AdminService,
    createConnectTransport({
      baseUrl: url,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (Object.entries(headers).forEach(([k, v]) => req.header.set(k, v)), next(req))],
    }),
  );
}

function h2Get(url: string, path: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":path": path, ":method": "GET" });
    let body = "";
    let headers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (headers = h));
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), headers, body });
    });
    req.end();
  });
}

describe("the dashboard's files at /dashboard", () => {
  let server: LarderServer;
  beforeAll(async () => {
    server = await startLarder(createMemoryStore(), { dashboard: { assetsDir: assets.dir } });
  });
  afterAll(() => server.close());

  it("serves the page over HTTP/1.1 and HTTP/2 with a strict Content-Security-Policy", async () => {
    const res = await fetch(`${server.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\bstyle=|https?:\/\//);
    const h2 = await h2Get(server.url, "/dashboard/");
    expect(h2.status).toBe(200);
    expect(h2.body).toBe(html);
    expect(h2.headers["content-security-policy"]).toBe(csp);
  });

  it("serves hashed assets with their content types, a year of caching, gzip and ETags", async () => {
    const html = await (await fetch(`${server.url}/dashboard`)).text();
    const script = /src="(\/dashboard\/assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1] ?? "";
    const style = /href="(\/dashboard\/assets\/main-[A-Z0-9]+\.css)"/.exec(html)?.[1] ?? "";
    const js = await fetch(`${server.url}${script}`, { headers: { "accept-encoding": "gzip" } });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("content-encoding")).toBe("gzip");
    const css = await fetch(`${server.url}${style}`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    const etag = css.headers.get("etag") ?? "";
    expect((await fetch(`${server.url}${style}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await h2Get(server.url, script)).headers["content-type"]).toBe("text/javascript; charset=utf-8");
  });

  it("answers 404 for unknown files, 405 for other methods; the page makes no outside request", async () => {
    expect((await fetch(`${server.url}/dashboard/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/dashboard`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${server.url}/dashboardx`)).status).toBe(404);
    const html = await (await fetch(`${server.url}/dashboard`)).text();
    const script = /src="([^"]+)"/.exec(html)?.[1] ?? "";
    const code = await (await fetch(`${server.url}${script}`)).text();
    // No URL of another origin is fetched: every call goes to location.origin.
    expect(code).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\//i);
  });

  it("refuses RPCs that a cross-site form could send: only Connect content types are calls", async () => {
    const ns = freshNamespace("csrf");
    const client = cacheClient(server.url, { namespace: ns });
    await client.set({ key: "k", value: json(1) });
    for (const type of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]) {
      const res = await fetch(`${server.url}/larder.v1.CacheService/Delete`, {
        method: "POST",
        headers: { "content-type": type, "larder-namespace": ns },
        body: type.startsWith("application/x-www") ? "keys=k" : '{"keys":["k"]}',
      });
      expect(res.status, type).toBe(415);
    }
    expect((await client.has({ key: "k" })).found).toBe(true);
  });

  it("is off with dashboard.enabled false, and says so when it was not built", async () => {
    const off = await startLarder(createMemoryStore(), { dashboard: { enabled: false } });
    const empty = mkdtempSync(join(tmpdir(), "larder-no-dashboard-"));
    const unbuilt = await startLarder(createMemoryStore(), { dashboard: { assetsDir: empty } });
    try {
      expect((await fetch(`${off.url}/dashboard`)).status).toBe(404);
      expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
      const res = await fetch(`${unbuilt.url}/dashboard`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain("npm run build");
    } finally {
      await off.close();
      await unbuilt.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("reads dashboard.enabled from the config file, default true", () => {
    const dir = mkdtempSync(join(tmpdir(), "larder-config-"));
    try {
      const file = join(dir, "larder.json");
      expect(loadConfig({}).dashboard).toEqual({ enabled: true });
      writeFileSync(file, JSON.stringify({ dashboard: { enabled: false } }));
      expect(loadConfig({ LARDER_CONFIG: file }).dashboard).toEqual({ enabled: false });
      writeFileSync(file, JSON.stringify({ dashboard: { enabled: "no" } }));
      expect(() => loadConfig({ LARDER_CONFIG: file })).toThrow(/dashboard\.enabled: must be true or false/);
      writeFileSync(file, JSON.stringify({ apiKeys: [{ sha256: hashApiKey("k"), namespace: "a", permissions: ["admin"] }] }));
      expect(loadConfig({ LARDER_CONFIG: file }).apiKeys[0]?.permissions).toEqual(["admin"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(storeKinds)("AdminService [%s store]", (kind) => {
  let redis: RedisServer | undefined;
  let server: LarderServer;
  let authed: LarderServer;
  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    server = await startLarder(makeStore(kind, redis?.url));
    authed = await startLarder(makeStore(kind, redis?.url), {
      apiKeys: [
        { sha256: hashApiKey("app-key"), namespace: "shop" },
        { sha256: hashApiKey("admin-key"), namespace: "shop", permissions: ["read", "admin"] },
      ],
    });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await authed?.close();
    await redis?.stop();
  });

  it("lists namespaces with their key counts", async () => {
    const a = freshNamespace("ns");
    const b = freshNamespace("ns");
    await cacheClient(server.url, { namespace: a }).setMany({ entries: [1, 2, 3].map((i) => ({ key: `k${i}`, value: json(i) })) });
    await cacheClient(server.url, { namespace: b }).set({ key: "only", value: json(true) });
    await cacheClient(server.url, { namespace: b }).lock({ name: "not-a-key", ttlMs: 10_000n });
    const res = await adminClient(server.url).listNamespaces({});
    const counts = Object.fromEntries(res.namespaces.map((n) => [n.name, Number(n.keys)]));
    expect(counts).toMatchObject({ [a]: 3, [b]: 1, default: 0 });
    expect(res.approximate).toBe(false);
  });

  it("reports rates, hit ratio and latencies from the server's own metrics", async () => {
    const c = cacheClient(server.url, { namespace: freshNamespace("stats") });
    await c.set({ key: "hit", value: json(1) });
    for (let i = 0; i < 10; i++) await c.get({ key: i < 7 ? "hit" : "miss" });
    await new Promise((r) => setTimeout(r, 1100));
    const stats = await adminClient(server.url).getStats({});
    expect(stats.storeKind).toBe(kind);
    expect(stats.serving).toBe(true);
    const last = stats.samples.at(-1);
    const get = last?.methods.find((m) => m.service === "larder.v1.CacheService" && m.method === "Get");
    expect(get?.callsPerSecond).toBeGreaterThan(0);
    expect(get?.p99Ms).toBeGreaterThan(0);
    expect(last?.hitRatio).toBeCloseTo(0.7, 5);
    expect(last?.store.find((s) => s.op === "get")?.callsPerSecond).toBeGreaterThan(0);
  });

  it.each(["grpc", "connect-h2", "connect-h1", "grpc-web-h1"] satisfies Protocol[])("is served over %s, like CacheService", async (protocol) => {
    const client = createClient(AdminService, transportFor(server.url, protocol));
    expect((await client.getStats({})).storeKind).toBe(kind);
    expect((await client.listNamespaces({})).namespaces.map((n) => n.name)).toContain("default");
  });

  it("needs the admin permission with auth on, and then shows only the key's namespace", async () => {
    await expectCode(adminClient(authed.url).getStats({}), Code.Unauthenticated);
    const plain = adminClient(authed.url, { authorization: "Bearer app-key" });
    await expectCode(plain.getStats({}), Code.PermissionDenied, /admin/);
    await expectCode(plain.listNamespaces({}), Code.PermissionDenied, /admin/);
    await expectCode(plain.listCommandStates({}), Code.PermissionDenied, /admin/);
    await cacheClient(authed.url, { apiKey: "app-key" }).set({ key: "x", value: json(1) });
    await cacheClient(server.url, { namespace: "elsewhere" }).set({ key: "x", value: json(1) });
    const admin = adminClient(authed.url, { authorization: "Bearer admin-key" });
    expect((await admin.listNamespaces({})).namespaces.map((n) => [n.name, Number(n.keys)])).toEqual([["shop", 1]]);
    expect((await admin.getStats({})).storeKind).toBe(kind);
    expect((await admin.listCommandStates({})).commands).toEqual([]);
  });
});

describe("latency quantiles from histogram buckets", () => {
  it("interpolates inside the bucket, as histogram_quantile does", () => {
    const bounds = [0.001, 0.01, 0.1];
    expect(quantileMs({ counts: [0, 10, 0], count: 10 }, 0.5, bounds)).toBeCloseTo(5.5, 5);
    expect(quantileMs({ counts: [50, 50, 0], count: 100 }, 0.99, bounds)).toBeCloseTo(9.82, 5);
    expect(quantileMs({ counts: [0, 0, 0], count: 3 }, 0.5, bounds)).toBe(100);
    expect(quantileMs({ counts: [], count: 0 }, 0.99, bounds)).toBe(0);
  });
});
