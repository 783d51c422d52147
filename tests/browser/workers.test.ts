// The worker pool in a real browser: builds tests/browser/workers-page with Vite (the page's module
// worker imports `tfjs-rlhf/worker`), serves it twice from local static servers, one with the COOP/COEP
// headers that make a page cross-origin isolated and one without, and runs it in headless Chromium.
// Isolated: LMTrainer, generate and PPOTrainer with `workers: 2` (one Web Worker) give what
// `workers: 1` gives,
// the replicas stay in sync (checkReplicas), nothing leaks in the page or the worker, and a worker that
// throws or exits, or a factory whose script is missing, fails the call with WorkerError instead of
// hanging. Not isolated: 'auto' trains
// in-process and an explicit count throws ConfigError saying why.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type LaunchedBrowser } from '../helpers/chromium';
import { serve, type Served } from '../helpers/static-server';
import { pageResult } from '../helpers/page-result';
import type { WorkersResult } from './workers-page/main';

const root = resolve(__dirname, '../..');
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
// Same tolerance as tests/parallel/trainers.test.ts: float32 sums in another order.
const TOL = 1e-5;

describe('worker pool in a browser (Web Workers, headless Chromium)', () => {
  let outDir = '';
  let isolated: Served | undefined;
  let plain: Served | undefined;
  let chromium: LaunchedBrowser | undefined;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'tfjs-rlhf-workers-'));
    await build({ configFile: join(root, 'tests/browser/workers-page/vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
    isolated = await serve(outDir, ISOLATION);
    plain = await serve(outDir);
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await isolated?.close();
    await plain?.close();
    if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
  });

  const runPage = async (url: string) => {
    const run = await pageResult<WorkersResult>(chromium!.browser, url, '__workersResult');
    return { r: run.result, pageErrors: run.pageErrors };
  };

  it('cross-origin isolated: workers: 2 trains (LM, PPO) and generates as workers: 1 does, without leaks; a worker that throws, exits or cannot load is a WorkerError', async () => {
    const { r, pageErrors } = await runPage(isolated!.url);
    expect(r.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(r.isolated).toBe(true);
    expect(r.backend).toBe('wasm');
    // The page's backend is tfjs's threaded build (a shared heap), and the SIMD kernels' shared-memory
    // variant runs on it; the workers run the single-threaded build with the plain variant, and the
    // replicas still apply bit-identical updates (checkReplicas compares checksums every step).
    expect(r.heap).toEqual({ shared: true, simd: true });
    const [one, two] = [r.losses['1']!, r.losses['2']!];
    expect(two).toHaveLength(8);
    two.forEach((x, i) => expect(Math.abs(x - one[i]!) / Math.abs(one[i]!), `step ${i + 1}: ${x} vs ${one[i]}`).toBeLessThan(TOL));
    expect(two.at(-1)!).toBeLessThan(two[0]!);
    expect(r.tokens['2']).toEqual(r.tokens['1']);
    // One Web Worker for training and one for generation, each reporting its memory; none in-process.
    expect(r.memory['1']).toEqual([]);
    expect(r.memory['2']).toHaveLength(1);
    expect(r.memory['generate 2']).toHaveLength(1);
    expect(r.memory['2']![0]!.numTensors).toBeGreaterThan(0);
    expect(r.memory['2']![0]!.backendBytes).toBeGreaterThan(0);
    // PPO: the critic and the reward model in a Web Worker; stats as in-process (tolerance of
    // tests/parallel/ppo-workers.test.ts: the clip's global norm is summed from two partial sums).
    expect(r.memory['ppo 2']).toHaveLength(1);
    expect(r.ppo['2']).toHaveLength(2);
    r.ppo['2']!.forEach((s, i) => Object.entries(s).forEach(([k, x]) => {
      const y = r.ppo['1']![i]![k]!;
      expect(Math.abs(x - y), `PPO step ${i + 1} ${k}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(y)));
    }));
    expect(r.tensors[1]).toBe(r.tensors[0]);
    expect(r.errors.missingScript?.name).toBe('WorkerError');
    // A worker that throws and one that exits (browsers have no exit event: the worker says so first).
    expect(r.errors.throw?.message).toMatch(/worker 1 threw: Error: injected fault/);
    expect(r.errors.exit?.message).toMatch(/worker 1 died: the worker exited with code 3/);
    expect(r.recovered).toEqual([true, true]);
    // The wasm binaries the worker fetched are the page's (absolute URLs from the main thread).
    const wasm = isolated!.requests.filter((q) => q.path.endsWith('.wasm'));
    expect(wasm.every((q) => q.status === 200 && q.path.startsWith('/assets/'))).toBe(true);
  }, 200_000);

  it("not isolated: 'auto' trains in-process and workers: 2 throws ConfigError naming the missing headers", async () => {
    const { r, pageErrors } = await runPage(plain!.url);
    expect(r.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(r.isolated).toBe(false);
    expect(r.heap).toEqual({ shared: false, simd: true });
    expect(r.losses.auto).toHaveLength(8);
    expect(r.memory.auto).toEqual([]);
    expect(r.errors.notIsolated?.name).toBe('ConfigError');
    expect(r.errors.notIsolated?.message).toMatch(/GenerateOptions\.workers[\s\S]*cross-origin isolated/);
    expect(r.tensors[1]).toBe(r.tensors[0]);
  }, 200_000);
});
