/**
 * Test page for tests/browser/workers.test.ts: the worker pool in a browser. Served cross-origin
 * isolated (COOP/COEP) it trains and generates with `workers: 1` and `workers: 2` (Web Workers made by
 * the factory below) and compares; served without those headers it checks that `'auto'` stays
 * in-process and that an explicit count says why it cannot run. Sets `window.__workersResult`.
 */
import { ByteTokenizer, LMTrainer, PPOTrainer, RewardModel, setWorkerFactory, TransformerPolicy, useBackend, type WorkerMemory } from 'tfjs-rlhf';
import { tf } from '../../../src/tf';
import { simdKernels } from '../../../src/backends/wasm-simd';
import { internals } from '../../../src/backends/wasm-heap';
import type { GenerationPool } from '../../../src/parallel/gen-pool';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export interface WorkersResult {
  isolated: boolean;
  backend: string;
  /** Whether the page's wasm heap is shared (the threaded build) and the SIMD kernels run on it. */
  heap: { shared: boolean; simd: boolean };
  /** Losses of 8 LMTrainer steps per `workers` setting. */
  losses: Record<string, number[]>;
  /** Worker memory after training, per setting. */
  memory: Record<string, WorkerMemory[]>;
  /** Live main-thread tensors before and after the runs. */
  tensors: [number, number];
  /** Generated tokens per setting. */
  tokens: Record<string, number[][]>;
  /** PPO stats of 2 steps per setting (the critic and reward model in a Web Worker with 2). */
  ppo: Record<string, Record<string, number>[]>;
  /**
   * What `workers: 2` threw (non-isolated page); what a worker that throws, one that exits and a
   * factory with a missing script gave (isolated page).
   */
  errors: Record<string, { name: string; message: string }>;
  /** Whether generate with workers gave the same tokens again after each injected fault. */
  recovered: boolean[];
  error?: string;
}

declare global {
  interface Window {
    __workersResult?: WorkersResult;
  }
}

const tok = new ByteTokenizer();
const text = 'the cat sat on the mat. the dog sat on the log. a bird sang in the tree. '.repeat(12);
const prompts = ['hi', 'say it', 'go on now', 'w', 'ok then', 'and so'].map((p) => tok.encode(p));

function caught(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'unknown', message: String(e) };
}

async function train(workers: number | 'auto', r: WorkersResult): Promise<void> {
  const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
  const t = new LMTrainer({ policy: p, batchSize: 4, sequenceLength: 24, learningRate: 3e-3, warmupSteps: 2, decaySteps: 8, seed: 9, workers, checkReplicas: true });
  try {
    r.losses[String(workers)] = (await t.train(tok.encode(text), { steps: 8 })).map((s) => s.loss);
    r.memory[String(workers)] = await t.workerMemory();
    const g = await p.generate(prompts, { maxNewTokens: 10, temperature: 1, topK: 20, seed: 3, workers });
    r.tokens[String(workers)] = g.tokens;
    await p.workerMemory().then((m) => { r.memory[`generate ${workers}`] = m; });
  } finally {
    t.dispose();
    p.dispose();
  }
}

const PPO_KEYS = ['objective/scores', 'objective/kl', 'loss/policy_avg', 'loss/value_avg', 'policy/approxkl_avg', 'val/clipfrac_avg'] as const;

/** Two PPO steps on a tiny policy; with `workers: 2` the critic and the reward model run in a worker. */
async function ppo(workers: number, r: WorkersResult): Promise<void> {
  const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const rm = RewardModel.fromPolicy(p, { headSeed: 7 });
  const t = new PPOTrainer({
    policy: p, reward: rm, tokenizer: tok, learningRate: 3e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2,
    maxNewTokens: 6, klCoef: 0.05, seed: 5, workers, missingEosPenalty: 0.5,
  });
  try {
    const h = await t.train(['hi', 'say', 'go on', 'well'], { steps: 2 });
    r.ppo[String(workers)] = h.map((s) => Object.fromEntries(PPO_KEYS.map((k) => [k, s[k]])));
    r.memory[`ppo ${workers}`] = await t.workerMemory();
  } finally {
    t.dispose();
    p.dispose();
    rm.dispose();
  }
}

/** A worker that throws, then one that exits (test hooks): each a WorkerError, and the next call works. */
async function faults(r: WorkersResult): Promise<void> {
  const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
  try {
    const opts = { maxNewTokens: 6, seed: 4, workers: 2 };
    const ok = JSON.stringify((await p.generate(prompts, opts)).tokens);
    for (const how of ['throw', 'exit'] as const) {
      (p as unknown as { pool: GenerationPool }).pool.injectFault(1, how);
      await p.generate(prompts, opts).catch((e: unknown) => { r.errors[how] = caught(e); });
      r.recovered.push(JSON.stringify((await p.generate(prompts, opts)).tokens) === ok);
    }
  } finally {
    p.dispose();
  }
}

function heap(): WorkersResult['heap'] {
  const be = internals(tf.backend());
  const memory = be.wasm.asm?.memory ?? be.wasm.wasmMemory;
  return { shared: memory instanceof WebAssembly.Memory && typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer, simd: simdKernels(be) !== null };
}

async function run(): Promise<WorkersResult> {
  setWorkerFactory(() => new Worker(new URL('./rlhf-worker.ts', import.meta.url), { type: 'module' }));
  // tfjs's threaded build on the page (this page is built unminified, which that build needs), so that
  // the pool is tested beside it and the SIMD kernels' shared-memory variant runs in a browser.
  await useBackend('wasm', {
    wasmThreads: true,
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
    },
  });
  const r: WorkersResult = { isolated: crossOriginIsolated, backend: tf.getBackend(), heap: heap(), losses: {}, memory: {}, tensors: [0, 0], tokens: {}, ppo: {}, errors: {}, recovered: [] };
  r.tensors[0] = tf.memory().numTensors;
  for (const w of crossOriginIsolated ? [1, 2] : ['auto' as const]) await train(w, r);
  if (!crossOriginIsolated) {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
    await p.generate(prompts, { maxNewTokens: 2, workers: 2 }).catch((e: unknown) => { r.errors.notIsolated = caught(e); });
    p.dispose();
  } else {
    for (const w of [1, 2]) await ppo(w, r);
    await faults(r);
    // A factory whose script is missing: a typed error, not a hang.
    setWorkerFactory(() => new Worker(new URL('./no-such-worker.js', location.href), { type: 'module' }));
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
    await p.generate(prompts, { maxNewTokens: 2, workers: 2 }).catch((e: unknown) => { r.errors.missingScript = caught(e); });
    p.dispose();
  }
  r.tensors[1] = tf.memory().numTensors;
  return r;
}

run().then(
  (r) => {
    window.__workersResult = r;
    document.getElementById('out')!.textContent = JSON.stringify(r, null, 1);
  },
  (e: unknown) => {
    window.__workersResult = { isolated: crossOriginIsolated, backend: '', heap: { shared: false, simd: false }, losses: {}, memory: {}, tensors: [0, 0], tokens: {}, ppo: {}, errors: {}, recovered: [], error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) };
  },
);
