// A page as a user writes it against the installed package (tests/package/pack.test.ts copies this
// folder next to the installed tarball, bundles it with Vite's defaults plus ES-module workers, and runs
// it cross-origin isolated in headless Chromium): LMTrainer with workers: 1, then 2 (one Web Worker).
import { ByteTokenizer, LMTrainer, setWorkerFactory, TransformerPolicy, useBackend } from 'tfjs-rlhf';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

setWorkerFactory(() => new Worker(new URL('./rlhf-worker.js', import.meta.url), { type: 'module' }));

async function run() {
  const backend = await useBackend('wasm', {
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmUrl, 'tfjs-backend-wasm-simd.wasm': wasmSimdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl },
  });
  const tok = new ByteTokenizer();
  const out = { backend, losses: {}, workers: {} };
  for (const workers of [1, 2]) {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
    const trainer = new LMTrainer({ policy, batchSize: 4, sequenceLength: 24, learningRate: 3e-3, seed: 9, workers, checkReplicas: true });
    out.losses[workers] = (await trainer.train(tok.encode('the cat sat on the mat. '.repeat(20)), { steps: 4 })).map((s) => s.loss);
    out.workers[workers] = (await trainer.workerMemory()).length;
    trainer.dispose();
    policy.dispose();
  }
  return out;
}

run().then((r) => { window.__consumerResult = r; }, (e) => { window.__consumerResult = { error: `${e}\n${e.stack}` }; });
