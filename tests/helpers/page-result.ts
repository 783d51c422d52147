// Runs a built test or benchmark page in headless Chromium until it sets `window[key]`, collecting the
// page's uncaught errors and console errors on the way.
import type { Browser } from 'playwright-core';

/** What a page reported, and what went wrong on the way. */
export interface PageRun<T> {
  result: T;
  pageErrors: string[];
  consoleErrors: string[];
  /** Values read from the page after it finished. */
  page: { crossOriginIsolated: boolean; hardwareConcurrency: number };
}

/** Opens `url` in a new page, waits up to `timeoutMs` for `window[key]`, and closes the page. */
export async function pageResult<T>(browser: Browser, url: string, key: string, timeoutMs = 150_000): Promise<PageRun<T>> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  try {
    await page.goto(url);
    await page.waitForFunction((k) => (window as unknown as Record<string, unknown>)[k] !== undefined, key, { timeout: timeoutMs });
    const result = (await page.evaluate((k) => (window as unknown as Record<string, unknown>)[k], key)) as T;
    const info = await page.evaluate(() => ({ crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency }));
    return { result, pageErrors, consoleErrors, page: info };
  } finally {
    await page.close();
  }
}
