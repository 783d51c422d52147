// Trainers with `workers`: the same seed gives the same history as `workers: 1` up to float summation
// order, resume works across worker counts, and neither the main thread nor the workers leak tensors.
// Tolerance: relative 1e-5 on every step's loss over 20 steps (float32 sums in another order, and a
// global norm accumulated in float64 instead of float32).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { LMTrainer } from '../../src/train/lm-trainer';
import { SFTTrainer } from '../../src/sft';
import { RewardTrainer } from '../../src/reward/reward-trainer';
import { RewardModel } from '../../src/reward/reward-model';
import { ConfigError } from '../../src/errors';
import type { SFTExample } from '../../src/data/types';
import { setupBackend } from '../helpers/backend';
import { setSimdKernels } from '../../src/backends/wasm-simd';

beforeAll(setupBackend);

const tok = new ByteTokenizer();
const text = 'the cat sat on the mat. the dog sat on the log. a bird sang in the tree. '.repeat(12);
const TOL = 1e-5;

function expectClose(a: number[], b: number[], tol = TOL): void {
  expect(a).toHaveLength(b.length);
  a.forEach((x, i) => expect(Math.abs(x - (b[i] as number)) / Math.max(1e-12, Math.abs(b[i] as number)), `step ${i + 1}: ${x} vs ${b[i]}`).toBeLessThan(tol));
}

const disposers: (() => void)[] = [];
afterEach(() => {
  disposers.splice(0).forEach((d) => d());
});

describe('LMTrainer with workers', () => {
  it('matches workers: 1 over 20 steps, replicas in sync, no leaks in the main thread or the worker', async () => {
    const run = async (workers: number) => {
      const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
      const t = new LMTrainer({ policy: p, batchSize: 4, sequenceLength: 24, learningRate: 3e-3, warmupSteps: 2, decaySteps: 20, seed: 9, workers, checkReplicas: true });
      disposers.push(() => { t.dispose(); p.dispose(); });
      const h1 = await t.train(tok.encode(text), { steps: 2 }); // creates the optimizer moments (and the pool)
      const before = tf.memory().numTensors;
      const mem0 = await t.workerMemory();
      const h2 = await t.train(tok.encode(text), { steps: 18 });
      expect(tf.memory().numTensors).toBe(before);
      const mem1 = await t.workerMemory();
      expect(mem1.map((m) => m.numTensors)).toEqual(mem0.map((m) => m.numTensors));
      return { losses: [...h1, ...h2].map((s) => s.loss), mem: mem1 };
    };
    const one = await run(1);
    const two = await run(2);
    expect(one.mem).toEqual([]);
    expect(two.mem).toHaveLength(1);
    expectClose(two.losses, one.losses);
    expect(two.losses.at(-1)!).toBeLessThan(two.losses[0]! * 0.8);
  });

  it('workers run the SIMD kernels exactly when the main thread does: switched off, replicas still agree bit for bit', async () => {
    setSimdKernels(false);
    try {
      const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
      const t = new LMTrainer({ policy: p, batchSize: 4, sequenceLength: 24, learningRate: 3e-3, seed: 9, workers: 2, checkReplicas: true });
      disposers.push(() => { t.dispose(); p.dispose(); });
      // checkReplicas compares weight checksums after every step: a worker on the SIMD kernels while the
      // main thread runs the TypeScript ones would round differently and throw WorkerError ('drift').
      const h = await t.train(tok.encode(text), { steps: 3 });
      expect(h).toHaveLength(3);
      expect(await t.workerMemory()).toHaveLength(1);
    } finally {
      setSimdKernels(true);
    }
  });

  it('validates workers and ends the worker threads on dispose', async () => {
    const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 5 });
    disposers.push(() => p.dispose());
    expect(() => new LMTrainer({ policy: p, workers: 0 })).toThrow(ConfigError);
    expect(() => new LMTrainer({ policy: p, workers: 'all' as unknown as number })).toThrow(/LMTrainerOptions\.workers/);
    const t = new LMTrainer({ policy: p, batchSize: 2, sequenceLength: 16, workers: 2 });
    await t.train(tok.encode(text), { steps: 1 });
    expect(await t.workerMemory()).toHaveLength(1);
    t.dispose();
    expect(await t.workerMemory()).toEqual([]);
  });
});

const words = 'apple bread chair dance eagle flame grape house juice knife lemon'.split(' ');
const examples: SFTExample[] = words.map((w) => ({ prompt: `Loud: ${w}`, completion: ` ${w.toUpperCase()}!` }));

describe('SFTTrainer with workers', () => {
  const make = (workers: number, policy?: TransformerPolicy) => {
    const p = policy ?? TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
    const t = new SFTTrainer({ policy: p, tokenizer: tok, batchSize: 4, learningRate: 5e-3, warmupSteps: 2, decaySteps: 30, seed: 1, workers, checkReplicas: true });
    disposers.push(() => { t.dispose(); p.dispose(); });
    return { p, t };
  };

  it('matches workers: 1 (uneven last batch of each epoch included)', async () => {
    const a = make(1);
    const b = make(2);
    const ha = await a.t.train(examples, { epochs: 4 }); // 11 examples, batch 4: 4 + 4 + 3 per epoch
    const hb = await b.t.train(examples, { epochs: 4 });
    expect(hb.map((s) => s.tokens)).toEqual(ha.map((s) => s.tokens));
    expectClose(hb.map((s) => s.loss), ha.map((s) => s.loss));
    expectClose(hb.map((s) => s.gradNorm), ha.map((s) => s.gradNorm), 1e-4);
  });

  it('resumes across worker counts (2 -> 1 and 1 -> 2) like an uninterrupted run', async () => {
    const ref = make(1);
    const h = [...await ref.t.train(examples, { epochs: 2 }), ...await ref.t.train(examples, { epochs: 2 })];
    for (const [first, second] of [[2, 1], [1, 2]] as const) {
      const x = make(first);
      const h1 = await x.t.train(examples, { epochs: 2 });
      const state = x.t.exportState();
      const y = make(second, TransformerPolicy.fromSafetensors(x.p.toSafetensors()));
      y.t.importState(state);
      const h2 = await y.t.train(examples, { epochs: 2 });
      expectClose([...h1, ...h2].map((s) => s.loss), h.map((s) => s.loss));
    }
  });

  it('resyncs the workers when the weights change between runs (importState on the same trainer)', async () => {
    const a = make(2);
    await a.t.train(examples, { epochs: 1 });
    const saved = a.t.exportState();
    const weights = a.p.toSafetensors();
    const h1 = await a.t.train(examples, { epochs: 1 });
    // Roll back the main thread (weights + state): the workers must follow, or checkReplicas throws.
    const back = TransformerPolicy.fromSafetensors(weights);
    a.p.trainableVariables.forEach((v, i) => v.assign(back.trainableVariables[i]!));
    back.dispose();
    a.t.importState(saved);
    const h2 = await a.t.train(examples, { epochs: 1 });
    expectClose(h2.map((s) => s.loss), h1.map((s) => s.loss));
  });
});

describe('RewardTrainer with workers', () => {
  it('matches workers: 1', async () => {
    const data = words.map((w, i) => ({ prompt: `Say ${w}:`, chosen: ` ${w}`, rejected: i % 2 ? ' no' : ' nope' }));
    const run = async (workers: number) => {
      const base = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
      const model = RewardModel.fromPolicy(base);
      base.dispose();
      const t = new RewardTrainer({ model, tokenizer: tok, batchSize: 4, learningRate: 1e-3, seed: 4, workers, checkReplicas: true });
      disposers.push(() => { t.dispose(); model.dispose(); });
      return t.train(data, { epochs: 2 });
    };
    const a = await run(1);
    const b = await run(2);
    expectClose(b.map((s) => s.loss), a.map((s) => s.loss));
    expect(b.map((s) => s.accuracy)).toEqual(a.map((s) => s.accuracy));
    expect(b.map((s) => s.pairs)).toEqual(a.map((s) => s.pairs));
  });
});
