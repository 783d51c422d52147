import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { LMTrainer } from '../../src/train/lm-trainer';
import { ConfigError } from '../../src/errors';
import { decodeSafetensors } from '../../src/io/safetensors';
import { magnitudePrune } from '../../src/compress/magnitude';
import { sparseGptPrune } from '../../src/compress/sparsegpt';
import { prune } from '../../src/compress/prune';
import { quantize } from '../../src/compress/quantize';
import { countZeros } from '../../src/compress/sparsity';
import { allMatrixNames } from '../../src/compress/targets';
import { Rng } from '../../src/ops/random';
import { setupBackend } from '../helpers/backend';

beforeAll(async () => {
  await setupBackend();
});

/** Random weights [dIn, dOut] and correlated inputs X [N, dIn] (a few latent factors plus noise). */
function problem(dIn: number, dOut: number, n: number, seed: number): { w: Float32Array; x: Float64Array; xtx: Float64Array } {
  const rng = new Rng(seed);
  const w = Float32Array.from({ length: dIn * dOut }, () => rng.normal());
  const mix = Float64Array.from({ length: 3 * dIn }, () => rng.normal());
  const x = new Float64Array(n * dIn);
  for (let t = 0; t < n; t++) {
    const z = [rng.normal(), rng.normal(), rng.normal()];
    for (let j = 0; j < dIn; j++) x[t * dIn + j] = (z[0] as number) * (mix[j] as number) + (z[1] as number) * (mix[dIn + j] as number) + (z[2] as number) * (mix[2 * dIn + j] as number) + 0.3 * rng.normal();
  }
  const xtx = new Float64Array(dIn * dIn);
  for (let t = 0; t < n; t++) for (let i = 0; i < dIn; i++) for (let j = 0; j < dIn; j++) xtx[i * dIn + j] = (xtx[i * dIn + j] as number) + (x[t * dIn + i] as number) * (x[t * dIn + j] as number);
  return { w, x, xtx };
}

/** ‖X W − X Ŵ‖² (the layer-wise reconstruction error SparseGPT minimises). */
function reconstructionError(x: Float64Array, w: Float32Array, wh: Float32Array, dIn: number, dOut: number): number {
  let e = 0;
  for (let t = 0; t < x.length / dIn; t++) for (let o = 0; o < dOut; o++) {
    let d = 0;
    for (let j = 0; j < dIn; j++) d += (x[t * dIn + j] as number) * ((w[j * dOut + o] as number) - (wh[j * dOut + o] as number));
    e += d * d;
  }
  return e;
}

const zerosIn = (w: ArrayLike<number>, from: number, to: number) => {
  let z = 0;
  for (let i = from; i < to; i++) if (w[i] === 0) z++;
  return z;
};

describe('SparseGPT on one matrix', () => {
  it('has exactly floor(p · rows · dOut) zeros in every block of rows (magnitude: per matrix)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0.25, 0.5, 0.7), fc.constantFrom(4, 8, 10, 24), (seed, p, blockSize) => {
      const [dIn, dOut] = [24, 6];
      const { w, xtx } = problem(dIn, dOut, 80, seed);
      const sg = sparseGptPrune(w, dIn, dOut, xtx, { sparsity: p, blockSize, dampening: 0.01 });
      for (let i1 = 0; i1 < dIn; i1 += blockSize) {
        const rows = Math.min(blockSize, dIn - i1);
        expect(zerosIn(sg, i1 * dOut, (i1 + rows) * dOut)).toBe(Math.floor(p * rows * dOut));
      }
      const mag = magnitudePrune(Float32Array.from(w), p);
      expect(zerosIn(mag, 0, mag.length)).toBe(Math.floor(p * w.length));
    }), { numRuns: 25 });
  });

  it('reconstructs X·W better than magnitude pruning (one mask block, correlated inputs)', () => {
    // Scanned over seeds 0-400 at these settings: never worse than magnitude (median 0.09x its error).
    // (With tiny blocks the per-block uniform sparsity can lose to magnitude's per-matrix choice on a
    // 24 x 6 matrix; the models use blocks of 128.)
    fc.assert(fc.property(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(0.25, 0.5), (seed, p) => {
      const [dIn, dOut] = [24, 6];
      const { w, x, xtx } = problem(dIn, dOut, 80, seed);
      const sg = sparseGptPrune(w, dIn, dOut, xtx, { sparsity: p, blockSize: 128, dampening: 0.01 });
      const mag = magnitudePrune(Float32Array.from(w), p);
      expect(reconstructionError(x, w, sg, dIn, dOut)).toBeLessThan(reconstructionError(x, w, mag, dIn, dOut));
    }), { numRuns: 25 });
  });

  it('2:4 leaves exactly 2 zeros in every group of 4 consecutive inputs of each output', () => {
    const [dIn, dOut] = [16, 5];
    const { w, xtx } = problem(dIn, dOut, 50, 7);
    const sg = sparseGptPrune(w, dIn, dOut, xtx, { sparsity: 0.5, pattern: { n: 2, m: 4 }, blockSize: 8, dampening: 0.01 });
    for (let j = 0; j < dIn; j += 4) for (let o = 0; o < dOut; o++) {
      expect([0, 1, 2, 3].filter((g) => sg[(j + g) * dOut + o] === 0)).toHaveLength(2);
    }
  });
});

// A tiny policy trained on a structured stream: token t+1 = (3·t + noise-free step) mod 13 for runs,
// with occasional random restarts, so the weights carry real structure.
function stream(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const out: number[] = [];
  let t = 1;
  for (let i = 0; i < n; i++) {
    t = rng.next() < 0.1 ? rng.int(13) : (3 * t + 1 + (i % 2)) % 13;
    out.push(t);
  }
  return out;
}

let trained: TransformerPolicy | undefined;
async function trainedPolicy(): Promise<TransformerPolicy> {
  if (trained) return trained;
  const policy = new TransformerPolicy({ vocabSize: 16, contextLength: 32, nLayer: 2, nHead: 2, dModel: 32, seed: 5 });
  const trainer = new LMTrainer({ policy, learningRate: 3e-3, batchSize: 8, sequenceLength: 24, warmupSteps: 10, decaySteps: 120, seed: 1 });
  await trainer.train(stream(4000, 1), { steps: 120 });
  trained = policy;
  return policy;
}

async function heldOutLoss(policy: TransformerPolicy): Promise<number> {
  const ev = new LMTrainer({ policy, batchSize: 8, sequenceLength: 24, seed: 2 });
  return (await ev.evaluate(stream(2000, 99), { maxWindows: 48 })).loss;
}

describe('prune(model)', () => {
  it('SparseGPT 50% loses less held-out loss than magnitude 50% on a tiny trained model; exact sparsity; no leaks', async () => {
    const policy = await trainedPolicy();
    const calibration = Array.from({ length: 16 }, (_, i) => stream(32, 500 + i));
    const before = tf.memory().numTensors;
    const mag = prune(policy, { method: 'magnitude', sparsity: 0.5 });
    const sg = prune(policy, { method: 'sparsegpt', sparsity: 0.5, calibration, blockSize: 16 });
    expect(sg).toBeInstanceOf(TransformerPolicy);
    for (const m of [mag, sg]) expect(countZeros(m)).toEqual({ zeros: countZeros(policy).total / 2, total: countZeros(policy).total });
    const [dense, lm, ls] = [await heldOutLoss(policy), await heldOutLoss(mag), await heldOutLoss(sg)];
    expect(lm).toBeGreaterThan(dense);
    expect(ls - dense).toBeLessThan(lm - dense);
    // each block of 16 input rows of every matrix is exactly half zeros
    for (const name of allMatrixNames(sg.config)) {
      const v = sg.model.p(name);
      const w = v.dataSync();
      const dOut = v.shape[1] as number;
      for (let r = 0; r < (v.shape[0] as number); r += 16) expect(zerosIn(w, r * dOut, (r + 16) * dOut)).toBe(8 * dOut);
    }
    // embeddings, LayerNorms and biases stay dense and unchanged
    for (const name of ['wte.weight', 'h.0.ln_1.weight', 'h.1.mlp.c_fc.bias']) {
      expect(Array.from(sg.model.p(name).dataSync())).toEqual(Array.from(policy.model.p(name).dataSync()));
    }
    mag.dispose();
    sg.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('2:4 (magnitude and SparseGPT) is exact in every group; then quantize keeps the zeros through save/load', async () => {
    const policy = await trainedPolicy();
    const calibration = Array.from({ length: 8 }, (_, i) => stream(32, 700 + i));
    for (const method of ['magnitude', 'sparsegpt'] as const) {
      const p = prune(policy, { method, pattern: '2:4', calibration });
      const q = quantize(p);
      const r = TransformerPolicy.fromSafetensors(q.toSafetensors());
      for (const model of [p, r]) {
        for (const name of allMatrixNames(model.config)) {
          const v = model.model.p(name);
          const w = v.dataSync();
          const dOut = v.shape[1] as number;
          for (let j = 0; j < (v.shape[0] as number); j += 4) for (let o = 0; o < dOut; o++) {
            expect([0, 1, 2, 3].filter((g) => w[(j + g) * dOut + o] === 0).length).toBeGreaterThanOrEqual(2);
          }
        }
      }
      expect(countZeros(p).zeros).toBe(countZeros(p).total / 2);
      expect(countZeros(r).zeros).toBeGreaterThanOrEqual(countZeros(r).total / 2); // int8 may round tiny weights to 0 too
      expect(decodeSafetensors(q.toSafetensors()).tensors['h.0.mlp.c_fc.weight']?.dtype).toBe('int8');
      for (const m of [p, q, r]) m.dispose();
    }
  });

  it('works on a reward model (same class, head pruned only with heads: true)', async () => {
    const rm = RewardModel.fromPolicy(await trainedPolicy());
    const calibration = [stream(20, 1), stream(30, 2)];
    const a = prune(rm, { method: 'sparsegpt', calibration });
    const b = prune(rm, { method: 'magnitude', heads: true });
    expect(a).toBeInstanceOf(RewardModel);
    expect(zerosIn(a.headWeight.dataSync(), 0, 32)).toBe(0);
    expect(zerosIn(b.headWeight.dataSync(), 0, 32)).toBe(16);
    expect(countZeros(a).zeros).toBe(countZeros(a).total / 2);
    for (const m of [rm, a, b]) m.dispose();
  });

  it('rejects bad options with ConfigError naming the option', async () => {
    const p = new TransformerPolicy({ vocabSize: 16, contextLength: 8, nLayer: 1, nHead: 2, dModel: 12, seed: 1 });
    expect(() => prune(p, { method: 'sparsegpt' })).toThrow(/PruneOptions\.calibration/);
    expect(() => prune(p, { method: 'magnitude', pattern: '4:2' })).toThrow(/PruneOptions\.pattern/);
    expect(() => prune(p, { method: 'magnitude', pattern: '2:8' })).toThrow(/12 is not a multiple of 8/);
    expect(() => prune(p, { method: 'magnitude', pattern: '2:4', sparsity: 0.3 })).toThrow(/PruneOptions\.sparsity/);
    expect(() => prune(p, { method: 'magnitude', sparsity: 1 })).toThrow(ConfigError);
    expect(() => prune(p, { method: 'sparsegpt', calibration: [[1, 2, 99]] })).toThrow(/calibration\[0\]\[2\]/);
    expect(() => prune(p, { method: 'sparsegpt', calibration: [Array(9).fill(1)] })).toThrow(/calibration\[0\]\.length/);
    expect(() => prune(p, { method: 'obs' as 'magnitude' })).toThrow(/PruneOptions\.method/);
    // NaN activations: a typed error naming the matrix, and the half-made model is freed
    tf.tidy(() => { p.model.p('h.0.ln_1.weight').assign(tf.fill([12], NaN)); });
    const before = tf.memory().numTensors;
    expect(() => prune(p, { method: 'sparsegpt', calibration: [[1, 2, 3]] })).toThrow(/calibration Hessian of h\.0\.attn\.c_attn\.weight/);
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });
});
