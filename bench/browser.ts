/**
 * Browser scaling benchmark: the micro config's training tokens/s in headless Chromium with 1, 2, ...
 * replicas (the page's thread plus Web Workers; the page is served cross-origin isolated), and on
 * tfjs-backend-wasm's threaded build with 1 replica for comparison. Builds bench/browser-page with
 * Vite and drives the Chromium of the browser tests (tests/helpers/chromium.ts). Used by bench/run.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchChromium } from '../tests/helpers/chromium';
import { serve } from '../tests/helpers/static-server';
import { pageResult } from '../tests/helpers/page-result';
import { median } from './micro-data';
import type { BenchPageResult } from './browser-page/main';

/** One row of the browser table. */
export interface BrowserRow { label: string; replicas: number; tokensPerSecond: number; speedup: number }

/** What {@link runBrowserScaling} measured, or why it did not. */
export type BrowserResult = { rows: BrowserRow[]; cores: number; browser: string; steps: number } | { skipped: string };

const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** One page load in a fresh browser (a fresh wasm backend per setup). */
async function pageRun(url: string): Promise<BenchPageResult> {
  const chromium = await launchChromium();
  try {
    const { result } = await pageResult<BenchPageResult>(chromium.browser, url, '__benchResult', 600_000);
    if (result.error !== undefined) throw new Error(`the benchmark page failed: ${result.error}`);
    return result;
  } finally {
    await chromium.close();
  }
}

/** Measures the browser table; `quick`: 1 round of 3 steps instead of 4 of 5. */
export async function runBrowserScaling(o: { quick?: boolean; log?: (l: string) => void } = {}): Promise<BrowserResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-rlhf-bench-browser-'));
  const [rounds, steps] = o.quick ? [1, 3] : [4, 5];
  try {
    await build({ configFile: fileURLToPath(new URL('./browser-page/vite.config.ts', import.meta.url)), logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
    const served = await serve(out, ISOLATION);
    try {
      const maxReplicas = Math.min(os.availableParallelism(), 8);
      const counts = Array.from({ length: maxReplicas }, (_, i) => i + 1);
      log(`browser: Chromium, ${counts.join('/')} replicas (Web Workers), ${rounds} rounds of ${steps} steps`);
      const single = await pageRun(`${served.url}?replicas=${counts.join(',')}&rounds=${rounds}&steps=${steps}`);
      log('browser: Chromium, tfjs-backend-wasm threaded build, 1 replica');
      const threaded = await pageRun(`${served.url}?replicas=1&threads=1&rounds=${rounds}&steps=${steps}`);
      const base = median(single.tps['1'] ?? [0]);
      const rows: BrowserRow[] = counts.map((n) => ({ label: `${n} replica${n > 1 ? `s (${n - 1} Web Worker${n > 2 ? 's' : ''})` : ' (the page)'}`, replicas: n, tokensPerSecond: median(single.tps[String(n)] ?? [0]), speedup: 0 }));
      rows.push({ label: "1 replica on tfjs-backend-wasm's threaded build (`wasmThreads: true`)", replicas: 1, tokensPerSecond: median(threaded.tps['1'] ?? [0]), speedup: 0 });
      for (const r of rows) r.speedup = r.tokensPerSecond / base;
      const browser = /Chrome\/([\d.]+)/.exec(single.userAgent)?.[1] ?? single.userAgent;
      return { rows, cores: single.cores, browser: `Chromium ${browser} (headless)`, steps: rounds * steps };
    } finally {
      await served.close();
    }
  } catch (e) {
    return { skipped: `the browser run failed: ${(e as Error).message.slice(0, 300)}` };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const int = (x: number): string => Math.round(x).toLocaleString('en-US');

/** The markdown section of {@link runBrowserScaling}'s result. */
export function browserMarkdown(r: BrowserResult): string {
  const head = '### Every core in a browser (Web Workers)';
  if ('skipped' in r) return `${head}\n\nSkipped: ${r.skipped}.`;
  return [
    head, '',
    `${r.browser}, \`navigator.hardwareConcurrency\` ${r.cores}; the same micro config and batch as above, median of ${r.steps} steps in interleaved rounds; page served cross-origin isolated (COOP/COEP), wasm backend single-threaded in the page and in each worker (\`useBackend\`'s default), bench/browser-page.`, '',
    '| setup | train tok/s | vs 1 replica |',
    '|---|---|---|',
    ...r.rows.map((x) => `| ${x.label} | ${int(x.tokensPerSecond)} | ${x.speedup.toFixed(2)}x |`),
  ].join('\n');
}
