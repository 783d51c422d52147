/**
 * Page of bench/browser.ts: training tokens/s of the micro config (vocab 259, context 64, d 128,
 * 4 heads, 4 layers, batch 8) in the browser, for each replica count in `?replicas=1,2` (the page's
 * thread plus Web Workers), in interleaved rounds (`?rounds=4&steps=5`), on the single-threaded wasm
 * build or, with `?threads=1`, on tfjs's threaded build. Sets `window.__benchResult`.
 */
import { LMTrainer, Rng, setWorkerFactory, TransformerPolicy, useBackend } from 'tfjs-rlhf';
import { microTokens } from '../micro-stream';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** What the page reports: each replica count's per-step tok/s over all rounds. */
export interface BenchPageResult {
  isolated: boolean;
  cores: number;
  userAgent: string;
  tps: Record<string, number[]>;
  error?: string;
}

const VOCAB = 259;
const BATCH = 8;
const SEQ = 64;


async function run(): Promise<BenchPageResult> {
  const q = new URLSearchParams(location.search);
  const replicas = (q.get('replicas') ?? '1').split(',').map(Number);
  const [rounds, steps] = [Number(q.get('rounds') ?? 4), Number(q.get('steps') ?? 5)];
  setWorkerFactory(() => new Worker(new URL('./rlhf-worker.ts', import.meta.url), { type: 'module' }));
  await useBackend('wasm', {
    wasmThreads: q.get('threads') === '1',
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmUrl, 'tfjs-backend-wasm-simd.wasm': wasmSimdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl },
  });
  const data = microTokens(200_000, VOCAB, new Rng(1234)); // the stream of bench/micro-data.ts
  const live = [];
  for (const workers of replicas) {
    const policy = TransformerPolicy.fromPreset('micro', VOCAB);
    const trainer = new LMTrainer({ policy, batchSize: BATCH, sequenceLength: SEQ, warmupSteps: 0, seed: 0, workers });
    await trainer.train(data, { steps: 2 });
    live.push({ workers, policy, trainer, tps: [] as number[] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const row of live) row.tps.push(...(await row.trainer.train(data, { steps })).map((s) => s.tokensPerSecond));
  }
  for (const row of live) {
    row.trainer.dispose();
    row.policy.dispose();
  }
  return { isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, userAgent: navigator.userAgent, tps: Object.fromEntries(live.map((row) => [String(row.workers), row.tps])) };
}

run().then(
  (r) => { window.__benchResult = r; },
  (e: unknown) => { window.__benchResult = { isolated: crossOriginIsolated, cores: 0, userAgent: '', tps: {}, error: String(e) }; },
);

declare global {
  interface Window {
    __benchResult?: BenchPageResult;
  }
}
