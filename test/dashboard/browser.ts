import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";

const root = resolve(import.meta.dirname, "..", "..");

/** Debian's Chromium: scripts/test.sh installs it (`npx playwright install` cannot download here). */
export const chromiumPath = "/usr/bin/chromium";

/** Where screenshots go: test-results/ is git-ignored. */
export const screenshotDir = join(root, "test-results", "dashboard");

/**
 * Builds the dashboard as `npm run build` does, into a temporary folder, so
 * that the suite tests the sources it runs with and not a stale dist/.
 * Returns the folder and a function that removes it.
 */
export function buildDashboard(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "larder-dashboard-"));
  execFileSync(process.execPath, [join(root, "scripts", "build-dashboard.mjs"), "--out", dir], { stdio: "pipe" });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Launches headless Chromium; fails loudly when it is missing, as a suite must never pass by skipping. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium (scripts/test.sh does)`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/**
 * One dashboard build and one Chromium for a test file: started before its
 * tests and removed after them. Read them inside tests or hooks.
 */
export function useDashboardBrowser(): { assetsDir(): string; browser(): Browser } {
  let assets: ReturnType<typeof buildDashboard> | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    assets = buildDashboard();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    assets?.remove();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the dashboard browser starts in beforeAll");
    return value;
  };
  return { assetsDir: () => started(assets).dir, browser: () => started(browser) };
}

/** A page that records what must never happen: dialogs (alert), page errors, CSP violations. */
export interface WatchedPage {
  readonly page: Page;
  readonly dialogs: string[];
  readonly errors: string[];
  close(): Promise<void>;
}

/** Opens a page in a fresh context (no shared storage) and watches it. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => errors.push(e.message));
  // A refused call logs a failed resource load, which is expected; a CSP
  // refusal is not.
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  return { page, dialogs, errors, close: () => context.close() };
}

/** Saves a screenshot of the page under test-results/dashboard/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}
