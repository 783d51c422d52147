// Packs the package, installs the tarball into a fresh folder with npm, and trains from plain Node
// through both the ESM (`import`) and CommonJS (`require`) entry points, in-process and with a worker
// thread (the installed dist/worker.js, which is also the `tfjs-rlhf/worker` export for browsers); then
// bundles a page against the installed package with Vite (minified, as a user's production build) and
// trains with a Web Worker in headless Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { build } from 'vite';
import { launchChromium } from '../helpers/chromium';
import { serve } from '../helpers/static-server';
import { pageResult } from '../helpers/page-result';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
let dir: string;

const body = `
  const backend = await useBackend('wasm');
  const tok = new ByteTokenizer();
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
  const ids = tok.encode('the cat sat on the mat. '.repeat(10));
  const trainer = new LMTrainer({ policy, batchSize: 4, sequenceLength: 16, learningRate: 5e-3, warmupSteps: 1, seed: 1 });
  const before = (await trainer.evaluate(ids, { maxWindows: 4 })).loss;
  const history = await trainer.train(ids, { steps: 8 });
  const after = (await trainer.evaluate(ids, { maxWindows: 4 })).loss;
  const sample = await policy.generate([tok.encode('the ')], { maxNewTokens: 5, seed: 1 });
  process.stdout.write(JSON.stringify({ backend, before, after, steps: history.length, sample: sample.tokens[0].length }));
`;

const workersBody = `
  await useBackend('wasm');
  const tok = new ByteTokenizer();
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
  const trainer = new LMTrainer({ policy, batchSize: 4, sequenceLength: 16, learningRate: 5e-3, seed: 1, workers: 2, checkReplicas: true });
  const history = await trainer.train(tok.encode('the cat sat on the mat. '.repeat(10)), { steps: 3 });
  const workers = (await trainer.workerMemory()).length;
  trainer.dispose();
  process.stdout.write(JSON.stringify({ losses: history.map((s) => s.loss), workers }));
`;

function run(file: string): { backend: string; before: number; after: number; steps: number; sample: number } {
  const out = execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rlhf-pack-'));
  // dist/ was built by tests/global-setup.ts; --ignore-scripts skips the prepack rebuild so that no
  // other test sees dist/ deleted mid-run.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root, stdio: 'pipe', timeout: 240_000 });
  const tgz = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
  if (tgz === undefined) throw new Error('npm pack produced no tarball');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tgz), '@tensorflow/tfjs-core@4.22.0'],
    { cwd: dir, stdio: 'pipe', timeout: 240_000 });
  await writeFile(join(dir, 'train.mjs'), `import { useBackend, ByteTokenizer, TransformerPolicy, LMTrainer } from 'tfjs-rlhf';\n${body}`);
  await writeFile(join(dir, 'train.cjs'),
    `const { useBackend, ByteTokenizer, TransformerPolicy, LMTrainer } = require('tfjs-rlhf');\n(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });`);
  await writeFile(join(dir, 'workers.mjs'), `import { useBackend, ByteTokenizer, TransformerPolicy, LMTrainer } from 'tfjs-rlhf';\n${workersBody}`);
  await writeFile(join(dir, 'workers.cjs'),
    `const { useBackend, ByteTokenizer, TransformerPolicy, LMTrainer } = require('tfjs-rlhf');\n(async () => {${workersBody}})().catch((e) => { console.error(e); process.exit(1); });`);
  await writeFile(join(dir, 'resolve.mjs'), `process.stdout.write(JSON.stringify(import.meta.resolve('tfjs-rlhf/worker')));`);
}, 480_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('trains from an ESM file (gradients registered, loss falls)', () => {
    const r = run('train.mjs');
    expect(r.backend).toBe('wasm');
    expect(r.steps).toBe(8);
    expect(r.after).toBeLessThan(r.before);
    expect(r.sample).toBe(5);
  });

  it('trains from a CommonJS file (gradients registered, loss falls)', () => {
    const r = run('train.cjs');
    expect(r.steps).toBe(8);
    expect(r.after).toBeLessThan(r.before);
  });

  it('gives the same numbers through ESM and CommonJS', () => {
    expect(run('train.cjs')).toEqual(run('train.mjs'));
  });

  it('trains with a worker thread from ESM and CommonJS (the installed worker entry), as in-process does', () => {
    const esm = run('workers.mjs') as unknown as { losses: number[]; workers: number };
    const cjs = run('workers.cjs') as unknown as { losses: number[]; workers: number };
    expect(esm.workers).toBe(1);
    expect(cjs).toEqual(esm);
    expect(esm.losses).toHaveLength(3);
    expect(esm.losses.every(Number.isFinite)).toBe(true);
  });

  it('exports the worker entry as tfjs-rlhf/worker (dist/worker.js)', () => {
    expect(JSON.parse(execFileSync(process.execPath, ['resolve.mjs'], { cwd: dir, encoding: 'utf8' }))).toMatch(/node_modules\/tfjs-rlhf\/dist\/worker\.js$/);
  });

  it('bundles from the installed package with Vite (minified) and trains with a Web Worker on a cross-origin isolated page, as workers: 1 does', async () => {
    const page = join(dir, 'page');
    await cp(join(root, 'tests/package/consumer-page'), page, { recursive: true });
    // Vite's defaults, plus the one setting the library asks of a user: ES-module workers.
    await build({ root: page, configFile: false, logLevel: 'error', worker: { format: 'es' }, build: { outDir: join(page, 'dist'), emptyOutDir: true, chunkSizeWarningLimit: 8000 } });
    const served = await serve(join(page, 'dist'), { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    const chromium = await launchChromium();
    try {
      type R = { backend: string; losses: Record<string, number[]>; workers: Record<string, number>; error?: string };
      const { result, pageErrors } = await pageResult<R>(chromium.browser, served.url, '__consumerResult', 120_000);
      expect(result.error).toBeUndefined();
      expect(pageErrors).toEqual([]);
      expect(result.backend).toBe('wasm');
      expect(result.workers).toEqual({ 1: 0, 2: 1 });
      const [one, two] = [result.losses[1] as number[], result.losses[2] as number[]];
      expect(two).toHaveLength(4);
      two.forEach((x, i) => expect(Math.abs(x - (one[i] as number)) / Math.abs(one[i] as number)).toBeLessThan(1e-5));
    } finally {
      await chromium.close();
      await served.close();
    }
  }, 180_000);
});
