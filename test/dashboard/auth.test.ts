import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey, type LarderServer } from "../../server/index.js";
import { makeStore, startLarder, storeKinds } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";
import { openPage, screenshot, useDashboardBrowser } from "./browser.js";

// One build and one browser for the file; each store kind gets its servers.
const ui = useDashboardBrowser();

describe.each(storeKinds)("dashboard with auth on [%s store]", (kind) => {
  let redis: RedisServer | undefined;
  let server: LarderServer;
  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    server = await startLarder(makeStore(kind, redis?.url), {
      dashboard: { assetsDir: ui.assetsDir() },
      apiKeys: [
        { sha256: hashApiKey("reader-key"), namespace: "shop", permissions: ["read"] },
        { sha256: hashApiKey("admin-key"), namespace: "shop", permissions: ["read", "lock", "admin"] },
      ],
    });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  async function signIn(key: string, keep: boolean) {
    const w = await openPage(ui.browser());
    await w.page.goto(`${server.url}/dashboard#/overview`);
    await w.page.locator("input[name=apiKey]").fill(key);
    if (keep) await w.page.getByLabel("keep for this tab").check();
    await w.page.getByRole("button", { name: "Sign in" }).click();
    return w;
  }

  it("shows an error, not data, to a key without the admin permission; its data views still work", async () => {
    const w = await signIn("reader-key", false);
    const alert = w.page.locator("[data-view=overview] .error").first();
    await expect.poll(() => alert.textContent()).toMatch(/^PERMISSION_DENIED: .*"admin" permission/);
    expect(await w.page.getByTestId("health").textContent()).toBe("…");
    expect(await w.page.getByTestId("namespaces").locator("tbody tr").count()).toBe(0);
    await screenshot(w.page, `${kind}-auth-denied`);
    await w.page.getByRole("link", { name: "Locks" }).click();
    await expect.poll(() => w.page.locator("[data-view=locks] .error").textContent()).toMatch(/^PERMISSION_DENIED: .*"lock" permission/);
    // No cookie, and nothing kept in storage unless asked.
    expect(await w.page.context().cookies()).toEqual([]);
    expect(await w.page.evaluate("[document.cookie, sessionStorage.length, localStorage.length]")).toEqual(["", 0, 0]);
    await w.close();
  });

  it("shows the key's namespace to a key with admin, and keeps the key only in this tab's sessionStorage when asked", async () => {
    const w = await signIn("admin-key", true);
    await expect.poll(() => w.page.getByTestId("health").textContent()).toBe("SERVING");
    await expect.poll(() => w.page.getByTestId("namespaces").locator("tbody tr").allTextContents()).toEqual([expect.stringMatching(/^shop/)]);
    expect(await w.page.evaluate('[document.cookie, sessionStorage.getItem("larder.dashboard.apiKey"), localStorage.length]')).toEqual(["", "admin-key", 0]);
    await w.page.getByRole("button", { name: "Forget key" }).click();
    expect(await w.page.evaluate("sessionStorage.length")).toBe(0);
    await w.close();
  });
});
