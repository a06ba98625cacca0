import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { parseCommands } from "../../server/commands/definitions.js";
import { CommandRunner } from "../../server/commands/runner.js";
import { createLogger, createMemoryStore, createRedisStore, type LarderServer, type Store } from "../../server/index.js";
import { createCache, type Cache } from "../../sdk/ts/src/index.js";
import { createClient } from "@connectrpc/connect";
import { AdminService } from "../../server/gen/larder/v1/admin_pb.js";
import { cacheClient, freshNamespace, startLarder, storeKinds, transportFor, type StoreKind } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";
import { secret, testCommands } from "../commands/setup.js";
import { startUpstream, type TestUpstream } from "../commands/upstream.js";
import { openPage, screenshot, useDashboardBrowser } from "./browser.js";

// One build and one browser for the file; each store kind gets its servers.
const ui = useDashboardBrowser();

/** The namespace whose commands the tests run; every other test namespace is fresh. */
const commandNs = "dash-cmd";

describe.each(storeKinds)("dashboard in a browser [%s store]", (kind: StoreKind) => {
  let redis: RedisServer | undefined;
  let upstream: TestUpstream;
  let store: Store;
  let server: LarderServer;
  // Moves RunCommand's clock (both stores), so that a cached response is stale without waiting.
  let offsetMs = 0;

  beforeAll(async () => {
    upstream = await startUpstream();
    const dead = await startUpstream();
    await dead.close();
    if (kind === "redis") redis = await startRedis();
    store =
      kind === "memory"
        ? createMemoryStore({ now: () => Date.now() + offsetMs })
        : createRedisStore({ url: redis?.url ?? "", keyPrefix: `larder-dash-${Math.random().toString(36).slice(2, 8)}`, commandClockOffsetMs: () => offsetMs });
    const definitions = parseCommands({ [commandNs]: testCommands(upstream.port, dead.port) }, { TEST_SECRET: secret }, 1024 * 1024);
    const runner = new CommandRunner({ definitions, state: store.commandState, logger: createLogger({ level: "silent" }) });
    server = await startLarder(store, { commandRunner: runner, dashboard: { assetsDir: ui.assetsDir() } });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    await redis?.stop();
  });

  async function open(view: string, ns: string): Promise<{ page: Page; dialogs: string[]; errors: string[]; close: () => Promise<void> }> {
    const w = await openPage(ui.browser());
    await w.page.goto(`${server.url}/dashboard#/${view}?ns=${encodeURIComponent(ns)}`);
    await w.page.locator(`[data-view="${view}"]`).waitFor();
    return w;
  }

  it("lists keys written through the TS SDK; an entry opens, is extended, then deleted", async () => {
    const ns = freshNamespace("dash");
    const cache: Cache = createCache({ url: server.url, namespace: ns });
    try {
      await cache.set("user:1", { name: "Ada", roles: ["admin", "ops"] }, 300);
      await cache.set("user:2", { name: "Grace" }, 300);
      await cache.set("session:9", "token", 60);
      const w = await open("keys", ns);
      const { page } = w;
      const keys = page.getByTestId("keys");
      await expect.poll(() => keys.locator("button.key").allTextContents()).toEqual(["session:9", "user:1", "user:2"]);
      await page.locator("input[name=pattern]").fill("user:*");
      await page.getByRole("button", { name: "Search" }).click();
      await expect.poll(() => keys.locator("button.key").allTextContents()).toEqual(["user:1", "user:2"]);

      await keys.getByRole("button", { name: "user:1" }).click();
      const value = page.getByTestId("value");
      await expect.poll(() => value.textContent()).toBe(JSON.stringify({ name: "Ada", roles: ["admin", "ops"] }, null, 2));
      const ttl = page.getByTestId("ttl");
      await expect.poll(() => ttl.textContent()).toMatch(/^[45]m \d\ds$/);
      await screenshot(page, `${kind}-keys`);

      const client = cacheClient(server.url, { namespace: ns });
      const before = (await client.get({ key: "user:1" })).metadata?.expiresAt?.seconds ?? 0n;
      await page.locator("input[aria-label='seconds to add']").fill("600");
      await page.getByRole("button", { name: "Extend" }).click();
      await page.getByRole("alertdialog").waitFor();
      await page.getByTestId("confirm").click();
      await expect.poll(async () => Number(((await client.get({ key: "user:1" })).metadata?.expiresAt?.seconds ?? 0n) - before)).toBeGreaterThanOrEqual(599);
      await expect.poll(() => ttl.textContent()).toMatch(/^1[45]m \d\ds$/);

      await page.getByRole("button", { name: "Delete" }).click();
      await page.getByTestId("confirm").click();
      await expect.poll(async () => (await client.has({ key: "user:1" })).found).toBe(false);
      await expect.poll(() => keys.locator("button.key").allTextContents()).toEqual(["user:2"]);
      expect(w.errors).toEqual([]);
      await w.close();
    } finally {
      await cache.close();
    }
  });

  it("edits a JSON value after confirmation, as a compare-and-set on the version shown", async () => {
    const ns = freshNamespace("dash");
    const client = cacheClient(server.url, { namespace: ns });
    await client.set({ key: "config", value: { kind: { case: "json", value: '{"limit":1}' } }, expiry: { case: "ttlMs", value: 120_000n } });
    const w = await open("keys", ns);
    await w.page.getByRole("button", { name: "config" }).click();
    await w.page.getByRole("button", { name: "Edit" }).click();
    await w.page.locator("textarea").fill('{"limit": 2}');
    await w.page.getByRole("button", { name: "Save" }).click();
    await w.page.getByTestId("confirm").click();
    await expect.poll(async () => (await client.get({ key: "config" })).value?.kind.value).toBe('{"limit":2}');
    const after = await client.get({ key: "config" });
    expect(Number((after.metadata?.expiresAt?.seconds ?? 0n) * 1000n) - Date.now()).toBeGreaterThan(100_000);
    await w.close();
  });

  it("shows a lock's holder, fencing token and expiry", async () => {
    const ns = freshNamespace("dash");
    const client = cacheClient(server.url, { namespace: ns });
    const granted = await client.lock({ name: "jobs/nightly-report", ttlMs: 120_000n, owner: "worker-7" });
    expect(granted.acquired).toBe(true);
    const w = await open("locks", ns);
    const row = w.page.getByTestId("locks").locator("tbody tr", { hasText: "jobs/nightly-report" });
    await expect.poll(() => row.textContent()).toContain("worker-7");
    expect(await row.locator("td").nth(2).textContent()).toBe(String(granted.fencingToken));
    expect(await row.locator("td").nth(3).textContent()).toMatch(/^[12]m \d\ds$/);
    await screenshot(w.page, `${kind}-locks`);
    await w.close();
  });

  it("shows a command in fallback, its upstream status and the activation event; no secret", async () => {
    const client = cacheClient(server.url, { namespace: commandNs, protocol: "connect-h1" });
    upstream.reset();
    offsetMs = 0;
    expect((await client.runCommand({ name: "item", args: { id: "42" } })).status).toBe(200);
    upstream.mode.status = 503;
    upstream.mode.body = "down";
    // Past cacheSeconds (30) so that the next run goes live, and fails.
    offsetMs = 60_000;
    const failed = await client.runCommand({ name: "item", args: { id: "42" } });
    expect(failed.cacheFallback).toBe(true);
    const w = await open("commands", commandNs);
    const item = w.page.locator('[data-command="item"]');
    await expect.poll(() => item.getByTestId("fallback").textContent()).toBe("fallback on (1)");
    const row = await item.locator("tbody tr").first().textContent();
    expect(row).toContain("fallback");
    expect(row).toContain("503");
    await expect.poll(() => w.page.getByTestId("events").textContent()).toContain("item fallback activated — upstream answered 503");
    const text = (await w.page.locator("main").textContent()) ?? "";
    expect(text).toContain("authorization: (secret)");
    expect(text).not.toContain(secret);
    await screenshot(w.page, `${kind}-commands`);
    upstream.reset();
    offsetMs = 0;
    await w.close();
  });

  it("lists command identities through AdminService: a live success turns fallback off with its status", async () => {
    const client = cacheClient(server.url, { namespace: commandNs, protocol: "connect-h1" });
    const admin = createClient(AdminService, transportFor(server.url, "connect-h1", [(next) => (req) => (req.header.set("larder-namespace", commandNs), next(req))]));
    upstream.reset();
    offsetMs = 0;
    await client.runCommand({ name: "item", args: { id: "states" } });
    upstream.mode.status = 500;
    offsetMs = 60_000;
    await client.runCommand({ name: "item", args: { id: "states" } });
    const item = async () => (await admin.listCommandStates({})).commands.find((c) => c.name === "item");
    const inFallback = (await item())?.identities.find((i) => i.fallback && i.lastUpstreamStatus === 500);
    expect(Number(inFallback?.responseAgeMs)).toBeGreaterThanOrEqual(60_000);
    upstream.mode.status = 200;
    // The 5th run in fallback goes live, succeeds, and turns fallback off.
    for (let n = 0; n < 5; n++) await client.runCommand({ name: "item", args: { id: "states" } });
    const back = (await item())?.identities.find((i) => i.id === inFallback?.id);
    expect(back).toMatchObject({ fallback: false, lastUpstreamStatus: 200 });
    expect(Number(back?.responseAgeMs)).toBeLessThan(5_000);
    expect((await item())?.headers).toContainEqual(expect.objectContaining({ name: "authorization", value: "", secret: true }));
    expect((await admin.listCommandStates({ limit: 1 })).commands.find((c) => c.name === "item")?.identities).toHaveLength(1);
    upstream.reset();
    offsetMs = 0;
  });

  it("renders a value and a key holding markup as text: nothing runs", async () => {
    const ns = freshNamespace("dash");
    const client = cacheClient(server.url, { namespace: ns });
    const payload = "<img src=x onerror=alert(1)>";
    const key = "<img src=x onerror=window.__larderXss=1>";
    await client.set({ key, value: { kind: { case: "json", value: JSON.stringify({ html: payload, script: "<script>alert(2)</script>" }) } } });
    await client.set({ key: "raw", value: { kind: { case: "binary", value: new TextEncoder().encode(payload) } } });
    const w = await open("keys", ns);
    await w.page.getByRole("button", { name: key }).click();
    await expect.poll(() => w.page.getByTestId("value").textContent()).toContain(payload);
    await w.page.getByRole("button", { name: "raw" }).click();
    await expect.poll(() => w.page.getByTestId("value").textContent()).toContain("3c 69 6d 67");
    await w.page.waitForTimeout(300);
    expect(w.dialogs).toEqual([]);
    expect(await w.page.evaluate(() => (globalThis as unknown as { __larderXss?: number }).__larderXss)).toBeUndefined();
    expect(await w.page.locator("main img, main script").count()).toBe(0);
    expect(w.errors).toEqual([]);
    await w.close();
  });

  it("shows live rates, hit ratio, store health and namespaces on the overview", async () => {
    const ns = freshNamespace("dash");
    const cache = createCache({ url: server.url, namespace: ns });
    try {
      await cache.set("a", 1, 60);
      for (let i = 0; i < 20; i++) await cache.get(i % 2 === 0 ? "a" : "missing");
    } finally {
      await cache.close();
    }
    // The sampler counts the running interval once it is a second long.
    await new Promise((r) => setTimeout(r, 1100));
    const w = await open("overview", "default");
    await expect.poll(() => w.page.getByTestId("health").textContent()).toBe("SERVING");
    await expect.poll(() => w.page.locator(".chart").first().locator(".legend").textContent()).toContain("Get");
    await expect.poll(() => w.page.getByTestId("namespaces").textContent()).toContain(ns);
    await screenshot(w.page, `${kind}-overview`);
    expect(w.errors).toEqual([]);
    await w.close();
  });
});
