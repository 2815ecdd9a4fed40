// Headless Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core
// (never a downloaded browser build), a fresh profile per launch, removed afterwards.

import { chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export type Browser = Awaited<ReturnType<typeof chromium.launchPersistentContext>>;
export type Page = Awaited<ReturnType<Browser["newPage"]>>;

/** Fails (never skips) without Chromium: an untested page must not pass as tested. */
async function requireChromium(): Promise<void> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium ` +
        "(apt-get update && apt-get install -y chromium); .ci/run does",
    );
  }
}

/** Runs `body` with a page in a fresh headless Chromium; always closes it. Script errors
 * on the page fail the run. */
export async function withPage(body: (page: Page) => Promise<void>): Promise<void> {
  await requireChromium();
  // Playwright passes the profile as --user-data-dir itself (it refuses the flag in args).
  const profile = await Deno.makeTempDir({ prefix: "raftkv_chromium_" });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 820 },
  });
  try {
    const page = browser.pages()[0] ?? await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    // Offline: nothing may be fetched from anywhere but loopback.
    const foreign: string[] = [];
    page.on("request", (req) => {
      if (new URL(req.url()).hostname !== "127.0.0.1") foreign.push(req.url());
    });
    await body(page);
    if (pageErrors.length > 0) {
      throw new Error(`script errors on the page:\n${pageErrors.join("\n")}`);
    }
    if (foreign.length > 0) throw new Error(`requests off this machine:\n${foreign.join("\n")}`);
  } finally {
    await browser.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** Saves a full-page screenshot (light and dark) in a new temp dir, prints and returns the
 * light one's path. The dir is left for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_dashboard_" });
  const path = `${dir}/${name}.png`;
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path, fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: `${dir}/${name}-dark.png`, fullPage: true });
  console.log(`dashboard screenshot: ${path} (and ${name}-dark.png beside it)`);
  return path;
}
