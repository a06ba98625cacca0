import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { ConfigError, createMemoryStore, hashApiKey, LarderError, type LarderServer, loadConfig } from "../../server/index.js";
import { cacheClient, freshNamespace, startLarder } from "../harness/larder.js";
import { expectCode, json, sleep } from "../harness/fixture.js";
import { overrideStore } from "../harness/store-override.js";

/** Fetches a metrics page. */
async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample, 0 when absent. Labels must match exactly (all of them, any order). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = (m[2] ?? "").split(/,(?=[a-zA-Z_]\w*=")/).filter((s) => s !== "").sort();
    if (JSON.stringify(have) === JSON.stringify(want)) return Number(m[3]);
  }
  return 0;
}

const rpc = (method: string, code: string, protocol = "grpc") => ({
  service: "larder.v1.CacheService",
  method,
  protocol,
  code,
});

describe("metrics on the main port", () => {
  let server: LarderServer;
  // The memory store answers like a real one; `failing` keys make it fail
  // the way an unreachable backend does.
  const memory = createMemoryStore();
  const store = overrideStore(memory, {
    get: (ns, key, touch) =>
      key === "failing" ? Promise.reject(new LarderError("unavailable", "store: unreachable")) : memory.get(ns, key, touch),
  });
  beforeAll(async () => {
    server = await startLarder(store);
  });
  afterAll(async () => {
    await server.close();
  });
  const metricsUrl = () => `${server.url}/metrics`;

  it("counts RPCs by method, protocol and code, and times them", async () => {
    const c = cacheClient(server.url, { namespace: freshNamespace() });
    const before = await scrape(metricsUrl());
    await c.set({ key: "a", value: json(1) });
    await c.get({ key: "a" });
    await c.get({ key: "missing" });
    await expectCode(c.get({ key: "" }), Code.InvalidArgument);
    await expectCode(c.get({ key: "failing" }), Code.Unavailable);
    await cacheClient(server.url, { namespace: freshNamespace(), protocol: "connect-h1" }).has({ key: "a" });
    const after = await scrape(metricsUrl());
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta("larder_rpc_requests_total", rpc("Set", "ok"))).toBe(1);
    expect(delta("larder_rpc_requests_total", rpc("Get", "ok"))).toBe(2);
    expect(delta("larder_rpc_requests_total", rpc("Get", "invalid_argument"))).toBe(1);
    expect(delta("larder_rpc_requests_total", rpc("Get", "unavailable"))).toBe(1);
    expect(delta("larder_rpc_requests_total", rpc("Has", "ok", "connect"))).toBe(1);
    const timed = { service: "larder.v1.CacheService", method: "Get" };
    expect(delta("larder_rpc_duration_seconds_count", timed)).toBe(4);
    expect(sample(after, "larder_rpc_duration_seconds_bucket", { ...timed, le: "+Inf" })).toBeGreaterThanOrEqual(4);
  });

  it("counts cache hits and misses of Get and GetMany", async () => {
    const c = cacheClient(server.url, { namespace: freshNamespace() });
    await c.set({ key: "here", value: json(1) });
    const before = await scrape(metricsUrl());
    await c.get({ key: "here" });
    await c.get({ key: "absent" });
    await c.getMany({ keys: ["here", "absent", "also-absent"] });
    const after = await scrape(metricsUrl());
    const delta = (name: string, method: string) => sample(after, name, { method }) - sample(before, name, { method });
    expect(delta("larder_cache_hits_total", "Get")).toBe(1);
    expect(delta("larder_cache_misses_total", "Get")).toBe(1);
    expect(delta("larder_cache_hits_total", "GetMany")).toBe(1);
    expect(delta("larder_cache_misses_total", "GetMany")).toBe(2);
  });

  it("times store round trips and counts store errors by kind", async () => {
    const c = cacheClient(server.url, { namespace: freshNamespace() });
    const before = await scrape(metricsUrl());
    await c.set({ key: "s", value: json(1) });
    await c.get({ key: "s" });
    await expectCode(c.get({ key: "failing" }), Code.Unavailable);
    const after = await scrape(metricsUrl());
    const get = { store: "memory", op: "get" };
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta("larder_store_duration_seconds_count", get)).toBe(2);
    expect(delta("larder_store_duration_seconds_count", { store: "memory", op: "set" })).toBe(1);
    expect(sample(after, "larder_store_duration_seconds_sum", get)).toBeGreaterThan(0);
    expect(delta("larder_store_errors_total", { ...get, kind: "unavailable" })).toBe(1);
    // Health pings go through the same timing.
    expect(sample(after, "larder_store_duration_seconds_count", { store: "memory", op: "ping" })).toBeGreaterThan(0);
  });

  it("reports health, process metrics and the lock and command events", async () => {
    const metrics = server.metrics;
    if (metrics === undefined) throw new Error("metrics are on by default");
    metrics.lockWaitStarted();
    metrics.lockGranted(1500);
    metrics.lockGranted();
    metrics.lockNotAcquired();
    metrics.commandFallbackActivated("weather");
    metrics.commandServed("weather", "fallback");
    const text = await scrape(metricsUrl());
    expect(sample(text, "larder_serving")).toBe(1);
    expect(sample(text, "larder_lock_grants_total")).toBe(2);
    expect(sample(text, "larder_lock_waits_total")).toBe(1);
    expect(sample(text, "larder_lock_not_acquired_total")).toBe(1);
    expect(sample(text, "larder_lock_wait_seconds_count")).toBe(1);
    expect(sample(text, "larder_lock_wait_seconds_sum")).toBe(1.5);
    expect(sample(text, "larder_command_fallback_activations_total", { command: "weather" })).toBe(1);
    expect(sample(text, "larder_command_responses_total", { command: "weather", source: "fallback" })).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it("counts calls the gate refuses, in counters of its own server", async () => {
    const authed = await startLarder(createMemoryStore(), {
      apiKeys: [{ sha256: hashApiKey("metrics-key"), namespace: "app", permissions: ["read"] }],
    });
    try {
      await expectCode(cacheClient(authed.url, { namespace: "" }).get({ key: "k" }), Code.Unauthenticated);
      await expectCode(cacheClient(authed.url, { namespace: "", apiKey: "metrics-key" }).set({ key: "k", value: json(1) }), Code.PermissionDenied);
      await cacheClient(authed.url, { namespace: "", apiKey: "metrics-key" }).get({ key: "k" });
      const text = await scrape(`${authed.url}/metrics`);
      expect(sample(text, "larder_rpc_requests_total", rpc("Get", "unauthenticated"))).toBe(1);
      expect(sample(text, "larder_rpc_requests_total", rpc("Set", "permission_denied"))).toBe(1);
      expect(sample(text, "larder_rpc_requests_total", rpc("Get", "ok"))).toBe(1);
      // A second server in the same process has counters of its own.
      expect(sample(text, "larder_cache_hits_total", { method: "Get" }) + sample(text, "larder_cache_misses_total", { method: "Get" })).toBe(1);
    } finally {
      await authed.close();
    }
  });
});

describe("metrics after a known number of calls", () => {
  it("scrapes exact call, hit, miss and bucket counts", async () => {
    const server = await startLarder(createMemoryStore());
    try {
      const c = cacheClient(server.url, { namespace: freshNamespace() });
      await c.set({ key: "k", value: json(1) });
      for (let i = 0; i < 25; i++) await c.get({ key: i % 5 === 0 ? "absent" : "k" });
      const text = await scrape(`${server.url}/metrics`);
      expect(sample(text, "larder_rpc_requests_total", rpc("Get", "ok"))).toBe(25);
      expect(sample(text, "larder_rpc_requests_total", rpc("Set", "ok"))).toBe(1);
      expect(sample(text, "larder_cache_hits_total", { method: "Get" })).toBe(20);
      expect(sample(text, "larder_cache_misses_total", { method: "Get" })).toBe(5);
      const get = { service: "larder.v1.CacheService", method: "Get" };
      expect(sample(text, "larder_rpc_duration_seconds_count", get)).toBe(25);
      // Every bucket is cumulative; local calls all end well inside 10 s.
      const bounds = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
      const counts = bounds.map((le) => sample(text, "larder_rpc_duration_seconds_bucket", { ...get, le }));
      expect(counts.slice(-2)).toEqual([25, 25]);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(sample(text, "larder_rpc_duration_seconds_sum", get)).toBeGreaterThan(0);
      expect(sample(text, "larder_store_duration_seconds_count", { store: "memory", op: "get" })).toBe(25);
      expect(sample(text, "larder_store_duration_seconds_bucket", { store: "memory", op: "get", le: "+Inf" })).toBe(25);
      expect(sample(text, "larder_store_duration_seconds_count", { store: "memory", op: "set" })).toBe(1);
      expect(text).toContain("# TYPE larder_rpc_duration_seconds histogram\n");
      expect(text).toContain("# TYPE larder_rpc_requests_total counter\n");
      expect(text).toContain("# HELP larder_cache_hits_total Keys found by Get and GetMany.\n");
    } finally {
      await server.close();
    }
  });
});

describe("metrics settings", () => {
  it("serves metrics on a separate port (and path) when configured, and not on the main port", async () => {
    const server = await startLarder(createMemoryStore(), { metrics: { port: 0, path: "/prom" } });
    try {
      expect(server.metricsPort).toBeGreaterThan(0);
      expect(server.metricsPort).not.toBe(server.port);
      await cacheClient(server.url, { namespace: freshNamespace() }).get({ key: "k" });
      const text = await scrape(`http://127.0.0.1:${server.metricsPort}/prom`);
      expect(sample(text, "larder_rpc_requests_total", rpc("Get", "ok"))).toBe(1);
      expect((await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).status).toBe(404);
      expect((await fetch(`${server.url}/prom`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      // Probes stay on the main port.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`http://127.0.0.1:${server.metricsPort}/prom`)).rejects.toThrow();
  });

  it("serves no metrics when disabled, and the cache still works", async () => {
    const server = await startLarder(createMemoryStore(), { metrics: { enabled: false } });
    try {
      expect(server.metrics).toBeUndefined();
      expect(server.metricsPort).toBeUndefined();
      const c = cacheClient(server.url, { namespace: freshNamespace() });
      await c.set({ key: "k", value: json(1) });
      expect((await c.get({ key: "k" })).found).toBe(true);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      await sleep(10);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("reads metrics settings from the config file and LARDER_METRICS_PORT", () => {
    const dir = mkdtempSync(join(tmpdir(), "larder-metrics-"));
    const file = join(dir, "config.json");
    expect(loadConfig({}).metrics).toEqual({ enabled: true });
    writeFileSync(file, JSON.stringify({ metrics: { enabled: false, path: "/m" } }));
    expect(loadConfig({ LARDER_CONFIG: file }).metrics).toEqual({ enabled: false, path: "/m" });
    expect(loadConfig({ LARDER_CONFIG: file, LARDER_METRICS_PORT: "9464" }).metrics).toEqual({ enabled: false, path: "/m", port: 9464 });
    for (const [metrics, message] of [
      [{ nope: 1 }, /metrics\.nope: unknown setting/],
      [{ enabled: "yes" }, /metrics\.enabled: must be true or false/],
      [{ port: 70000 }, /metrics\.port/],
      [{ path: "metrics" }, /metrics\.path: must start with "\/"/],
      [{ path: "/readyz" }, /metrics\.path/],
    ] as const) {
      writeFileSync(file, JSON.stringify({ metrics }));
      expect(() => loadConfig({ LARDER_CONFIG: file })).toThrow(ConfigError);
      expect(() => loadConfig({ LARDER_CONFIG: file })).toThrow(message);
    }
    expect(() => loadConfig({ LARDER_METRICS_PORT: "abc" })).toThrow(/LARDER_METRICS_PORT/);
  });
});
