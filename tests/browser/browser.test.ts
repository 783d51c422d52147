// The library in a real browser: builds examples/browser with Vite's JS API, serves the output from a
// local static server and runs the page in headless Chromium, which trains a tiny policy and samples.
// Headless Chromium here runs with --disable-gpu and no webgpu/webgl package is installed, so
// useBackend('auto') ends on `wasm` (fetched from the bundled .wasm assets), not on `cpu`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type LaunchedBrowser } from '../helpers/chromium';
import { serve, type Served } from '../helpers/static-server';
import { pageResult } from '../helpers/page-result';

const root = resolve(__dirname, '../..');

interface RlhfResult {
  backend: string;
  workers: number;
  steps: number;
  losses: number[];
  sample: string;
  before: string;
  error?: string;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('browser example (Vite bundle in headless Chromium)', () => {
  let outDir = '';
  let served: Served | undefined;
  let isolated: Served | undefined;
  let chromium: LaunchedBrowser | undefined;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'tfjs-rlhf-browser-'));
    await build({
      configFile: join(root, 'examples/browser/vite.config.ts'),
      logLevel: 'error',
      build: { outDir, emptyOutDir: true },
    });
    served = await serve(outDir);
    isolated = await serve(outDir, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await served?.close();
    await isolated?.close();
    if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
  });

  it('bundles, picks the wasm backend, loads the base model, fine-tunes it (loss falls), charts the loss and samples text', async () => {
    const page = await chromium!.browser.newPage();
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(served!.url);
    await page.waitForFunction(() => (window as { __rlhfResult?: unknown }).__rlhfResult !== undefined, null, { timeout: 150_000 });
    const result = (await page.evaluate(() => (window as { __rlhfResult?: unknown }).__rlhfResult)) as RlhfResult;

    expect(served!.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(result.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(result.backend).toBe('wasm');
    expect(result.workers).toBe(0); // not cross-origin isolated: in-process
    // The wasm binary came from our server with the right MIME type (no silent fallback to cpu).
    const wasm = served!.requests.filter((r) => r.path.endsWith('.wasm'));
    expect(wasm.length).toBeGreaterThan(0);
    expect(wasm.every((r) => r.status === 200 && r.type === 'application/wasm')).toBe(true);

    expect(result.steps).toBeGreaterThanOrEqual(20);
    expect(result.losses).toHaveLength(result.steps);
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(mean(result.losses.slice(-5))).toBeLessThan(mean(result.losses.slice(0, 5)));

    expect(typeof result.sample).toBe('string');
    expect(result.sample.length).toBeGreaterThan(0);
    // The page shows the backend, the sample as text, and a vega chart with one line.
    expect(await page.textContent('#backend')).toBe('wasm');
    expect(await page.textContent('#sample')).toBe(`The${result.sample}`);
    // The shipped base model (int8 checkpoint + BPE tokenizer) loaded and wrote words before fine-tuning.
    expect(await page.textContent('#before')).toBe(`The${result.before}`);
    expect(result.before.trim().split(/\s+/).length).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#chart svg path').count()).toBeGreaterThan(0);
    await page.close();
  }, 200_000); // a 4.2 M-parameter model on single-threaded wasm in a shared CI machine

  it('when the .wasm binaries cannot be fetched, auto falls back to cpu and the logger says why', async () => {
    const page = await chromium!.browser.newPage();
    const warnings: string[] = [];
    page.on('console', (m) => {
      if (m.text().includes("useBackend('auto')")) warnings.push(m.text());
    });
    await page.route(/\.wasm$/, (route) => route.fulfill({ status: 404, body: 'blocked by the test' }));
    await page.goto(served!.url);
    // The page then trains on the (slow) cpu backend; seeing it start is enough.
    await page.waitForFunction(() => document.getElementById('backend')?.textContent === 'cpu', null, { timeout: 20_000, polling: 50 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('backend "wasm" failed to initialise (are its .wasm binaries served? see the wasmPaths option)');
    await page.close();
  });

  it('served cross-origin isolated, the same page trains with Web Workers (workers: auto) and the loss still falls', async () => {
    const { result, pageErrors, page } = await pageResult<RlhfResult>(chromium!.browser, isolated!.url, '__rlhfResult');
    const cores = page.hardwareConcurrency;
    expect(result.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(page.crossOriginIsolated).toBe(true);
    expect(result.backend).toBe('wasm');
    // 'auto': a replica per core, capped by the batch of 2; the page's thread is one of them.
    expect(result.workers).toBe(Math.min(cores, 2) - 1);
    // useBackend's default wasmThreads: false keeps tfjs's threaded build (not safe to minify: this
    // bundle is minified) out, also on an isolated page: the page and each worker load the SIMD binary.
    const wasm = isolated!.requests.filter((r) => r.path.endsWith('.wasm')).map((r) => r.path);
    expect(wasm.length).toBeGreaterThan(0);
    expect(wasm.every((p) => /tfjs-backend-wasm-simd-[\w-]+\.wasm$/.test(p))).toBe(true);
    expect(result.steps).toBeGreaterThanOrEqual(20);
    expect(mean(result.losses.slice(-5))).toBeLessThan(mean(result.losses.slice(0, 5)));
  }, 200_000);
});
