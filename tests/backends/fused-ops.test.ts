/**
 * The fused wasm kernels against the tf-op compositions they replace (property tests over shapes and
 * values), the tanh approximation against Math.tanh, and a whole model's loss and gradients with the
 * kernels on and off.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import * as ops from '../../src/backends/fused-ops';
import { fastTanh } from '../../src/backends/fused-math';
import { TransformerPolicy } from '../../src/models/policy';
import { AdamW } from '../../src/optim/adamw';
import { InputError } from '../../src/errors';

beforeAll(async () => {
  await setupBackend();
});

afterEach(() => ops.setFusedKernels('auto'));

/** Runs `f` with the fused kernels, then with the compositions; returns both results as arrays. */
function bothWays(f: () => tf.Tensor | tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const read = (): Float32Array[] => tf.tidy(() => [f()].flat()).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return Float32Array.from(d);
  });
  ops.setFusedKernels('auto');
  const fused = read();
  ops.setFusedKernels(false);
  const ref = read();
  ops.setFusedKernels('auto');
  return [fused, ref];
}

function expectClose(a: Float32Array[], b: Float32Array[], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    const y = b[i] as Float32Array;
    expect(x.length).toBe(y.length);
    let worst = 0;
    x.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - (y[j] as number)) / (1 + Math.abs(y[j] as number)));
    });
    expect(worst).toBeLessThanOrEqual(tol);
  });
}

const dims = fc.record({ n: fc.integer({ min: 1, max: 9 }), d: fc.integer({ min: 1, max: 11 }), seed: fc.integer({ min: 0, max: 1e6 }) });
const values = (len: number, seed: number, scale = 3): Float32Array =>
  Float32Array.from({ length: len }, (_, i) => Math.sin(seed + i * 12.9898) * scale);

describe('fused kernels (wasm)', () => {
  it('run on this backend when it is wasm', () => {
    expect(ops.fusedOn()).toBe(tf.getBackend() === 'wasm');
  });

  it('pass their one-time check when it first runs inside a gradient computation', () => {
    const policy = new TransformerPolicy({ vocabSize: 11, contextLength: 8, dModel: 8, nHead: 2, nLayer: 1, seed: 1 });
    const batch = { ids: Int32Array.from({ length: 8 }, (_, i) => i), mask: new Int32Array(8).fill(1), batch: 1, length: 8 };
    ops.setFusedKernels('auto'); // the next fusedOn() checks the kernels again: inside the customGrads below
    tf.tidy(() => tf.variableGrads(() => tf.neg(tf.mean(policy.tokenLogProbs(batch, { from: 1 }))) as tf.Scalar, policy.trainableVariables));
    expect(ops.fusedOn()).toBe(tf.getBackend() === 'wasm');
    policy.dispose();
  });

  it('fastTanh is within 3e-7 of Math.tanh everywhere', () => {
    fc.assert(fc.property(fc.double({ min: -40, max: 40, noNaN: true }), (u) => {
      expect(Math.abs(fastTanh(u) - Math.tanh(u))).toBeLessThan(3e-7);
    }), { numRuns: 2000 });
  });

  it('transpose, column sums, GELU and its backward equal the compositions', () => {
    fc.assert(fc.property(dims, ({ n, d, seed }) => {
      const x = values(n * d, seed);
      const y = values(n * d, seed + 1);
      const mk = (v: Float32Array): tf.Tensor2D => tf.tensor2d(v, [n, d]);
      expectClose(...bothWays(() => ops.transpose2d(mk(x))), 0);
      expectClose(...bothWays(() => ops.columnSums(mk(x))), 1e-5);
      expectClose(...bothWays(() => ops.geluForward(mk(x))), 1e-6);
      expectClose(...bothWays(() => ops.geluBackward(mk(y), mk(x), tf.tanh(mk(x)))), 1e-5);
    }), { numRuns: 30 });
  });

  it('transpose equals tf.transpose across column strips and row blocks (cols > 64, rows not a multiple of 8)', () => {
    const big = fc.record({ n: fc.integer({ min: 1, max: 27 }), d: fc.integer({ min: 1, max: 150 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(big, ({ n, d, seed }) => {
      const x = tf.tensor2d(values(n * d, seed), [n, d]);
      expectClose(...bothWays(() => ops.transpose2d(x)), 0);
      x.dispose();
    }), { numRuns: 40 });
  });

  it('LayerNorm forward and backward equal the compositions', () => {
    fc.assert(fc.property(dims, ({ n, d, seed }) => {
      const x = tf.tensor2d(values(n * d, seed), [n, d]);
      const g = tf.tensor1d(values(d, seed + 2));
      const b = tf.tensor1d(values(d, seed + 3));
      const dy = tf.tensor2d(values(n * d, seed + 4), [n, d]);
      const rstd = tf.tensor2d(values(n, seed + 5).map(Math.abs), [n, 1]);
      expectClose(...bothWays(() => ops.layerNormForward(x, g, b, 1e-5)), 1e-4);
      expectClose(...bothWays(() => ops.layerNormBackward(dy, x, rstd, g)), 1e-4);
      tf.dispose([x, g, b, dy, rstd]);
    }), { numRuns: 30 });
  });

  it('selected log-probs, their backward (targets in and out of range) and gatherRows equal the compositions', () => {
    fc.assert(fc.property(dims.filter((x) => x.d >= 2), ({ n, d, seed }) => { // tf.oneHot needs depth >= 2
      const logits = tf.tensor2d(values(n * d, seed, 8), [n, d]);
      const ids = Int32Array.from({ length: n }, (_, i) => ((seed + i * 7) % (d + 2)) - 1); // -1 .. d: two out of range
      const targets = tf.tensor1d(ids, 'int32');
      const dy = tf.tensor1d(values(n, seed + 1));
      const [logp, lse] = ops.logProbsForward(logits, targets);
      expectClose(...bothWays(() => ops.logProbsForward(logits, targets)), 1e-5);
      expectClose(...bothWays(() => ops.logProbsBackward(dy, logits, lse, targets)), 1e-5);
      const inRange = tf.tensor1d(ids.map((i) => Math.max(0, Math.min(d - 1, i))), 'int32');
      expectClose(...bothWays(() => ops.gatherRows(tf.transpose(logits) as tf.Tensor2D, inRange.slice(0, Math.min(n, d)))), 0);
      tf.dispose([logits, targets, dy, logp, lse, inRange]);
    }), { numRuns: 30 });
  });

  it('the AdamW update equals the composition, with and without decay and gradient scale', () => {
    fc.assert(fc.property(dims, fc.boolean(), fc.constantFrom(1, 0.37, 0), ({ n, d, seed }, decayed, gradScale) => {
      const t = (k: number, abs = false): tf.Tensor2D => tf.tensor2d(values(n * d, seed + k).map((v) => (abs ? Math.abs(v) : v)), [n, d]);
      const [w, m, v, g] = [t(0), t(1), t(2, true), t(3)];
      const s = { c1: 0.1, c2: 0.05, stepSize: 3e-3, eps: 1e-8, decay: decayed ? 0.999 : 1, gradScale };
      expectClose(...bothWays(() => ops.adamwUpdate(w, m, v, g, s)), 1e-5);
      tf.dispose([w, m, v, g]);
    }), { numRuns: 30 });
  });

  it('the attention head layouts and their gradients equal the compositions', () => {
    const heads = fc.record({ B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 3 }), hd: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(heads, ({ seed, ...h }) => {
      const d = h.H * h.hd;
      const qkv = tf.tensor2d(values(h.B * h.T * 3 * d, seed), [h.B * h.T, 3 * d]);
      const y = tf.tensor3d(values(h.B * h.H * h.T * h.hd, seed + 1), [h.B * h.H, h.T, h.hd]);
      const w = tf.tensor1d(values(qkv.size, seed + 2)); // one weight per element of q, kT and v
      const w2 = tf.tensor2d(values(h.B * h.T * d, seed + 3), [h.B * h.T, d]);
      expectClose(...bothWays(() => ops.splitHeads(qkv, h, 0.7)), 1e-6); // q * 0.7: float64 vs float32 scale
      expectClose(...bothWays(() => ops.mergeHeads(y, h)), 0);
      const flat = (ts: tf.Tensor[]): tf.Tensor => tf.concat(ts.map((t) => tf.reshape(t, [-1])));
      expectClose(...bothWays(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(flat(ops.splitHeads(a as tf.Tensor2D, h, 0.7)), w)))(qkv)), 1e-6);
      expectClose(...bothWays(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(ops.mergeHeads(a as tf.Tensor3D, h), w2)))(y)), 1e-6);
      tf.dispose([qkv, y, w, w2]);
    }), { numRuns: 30 });
  });

  it('decode attention (one query per group over cached keys, some masked) equals the composition', () => {
    const shapes = fc.record({ B: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 3 }), hd: fc.integer({ min: 1, max: 6 }), Tk: fc.integer({ min: 1, max: 12 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(shapes, ({ B, H, hd, Tk, seed }) => {
      const G = B * H;
      const q = tf.tensor3d(values(G * hd, seed), [G, 1, hd]);
      const kT = tf.tensor3d(values(G * hd * Tk, seed + 1), [G, hd, Tk]);
      const v = tf.tensor3d(values(G * Tk * hd, seed + 2), [G, Tk, hd]);
      const bias = tf.tensor4d(Float32Array.from({ length: B * Tk }, (_, i) => (i % Tk === 0 || (seed + i) % 3 !== 0 ? 0 : -1e9)), [B, 1, 1, Tk]);
      expectClose(...bothWays(() => ops.decodeAttention(q, kT, v, bias, H)), 1e-5);
      tf.dispose([q, kT, v, bias]);
    }), { numRuns: 30 });
  });

  it('a KV cache with room to grow: written in place, shared by reference, bounded by its capacity', () => {
    if (!ops.fusedOn()) return expect(tf.getBackend()).not.toBe('wasm'); // wasm only: the model concatenates elsewhere
    const before = tf.memory().numTensors;
    const k0 = tf.tensor3d([1, 2, 3, 4], [2, 2, 1]); //              [G=2, hd=2, T=1], transposed keys
    const k1 = tf.tensor3d([5, 6, 7, 8], [2, 2, 1]);
    const read = (t: tf.Tensor, n: number): number[] => tf.tidy(() => Array.from(tf.slice(t, [0, 0, 0], [-1, -1, n]).dataSync()));
    const buf = ops.cacheBuffer(k0, 2, 3); //                         [2, 2, capacity 3]
    const grown = ops.cacheAppend(buf, k1, 2, 1);
    expect(grown.shape).toEqual([2, 2, 3]);
    expect(read(grown, 2)).toEqual(tf.tidy(() => Array.from(tf.concat([k0, k1], 2).dataSync())));
    buf.dispose(); // the decoding loop lets go of the old tensor: the memory stays with the new one
    expect(read(grown, 2)).toEqual([1, 5, 2, 6, 3, 7, 4, 8]);
    const two = tf.concat([k0, k1], 2) as tf.Tensor3D;
    expect(() => ops.cacheAppend(grown, two, 2, 2)).toThrow(InputError); // 2 + 2 positions > capacity 3
    tf.dispose([k0, k1, grown, two]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the sum of squares of several tensors equals the composition', () => {
    fc.assert(fc.property(fc.array(dims, { minLength: 1, maxLength: 5 }), (ds) => {
      const xs = ds.map(({ n, d, seed }) => tf.tensor2d(values(n * d, seed), [n, d]));
      expectClose(...bothWays(() => ops.sumOfSquares(xs)), 1e-6);
      tf.dispose(xs);
    }), { numRuns: 30 });
  });

  it('concatenation along axis 1 and 2 and its gradient equal tf.concat', () => {
    const shapes = fc.record({ G: fc.integer({ min: 1, max: 4 }), R: fc.integer({ min: 1, max: 5 }), C: fc.integer({ min: 1, max: 5 }), extra: fc.integer({ min: 1, max: 3 }), axis: fc.constantFrom(1 as const, 2 as const), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(shapes, ({ G, R, C, extra, axis, seed }) => {
      const a = tf.tensor3d(values(G * R * C, seed), [G, R, C]);
      const bShape: [number, number, number] = axis === 1 ? [G, extra, C] : [G, R, extra];
      const b = tf.tensor3d(values(bShape[0] * bShape[1] * bShape[2], seed + 1), bShape);
      const w = tf.tensor(values(a.size + b.size, seed + 2), axis === 1 ? [G, R + extra, C] : [G, R, C + extra]);
      expectClose(...bothWays(() => ops.concat3d(a, b, axis)), 0);
      expectClose(...bothWays(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(ops.concat3d(x as tf.Tensor3D, y as tf.Tensor3D, axis), w)))([a, b])), 0);
      tf.dispose([a, b, w]);
    }), { numRuns: 40 });
  });

  it('AdamW with a gradient scale matches a float64 PyTorch-form reference (1e-5), and rejects a bad scale', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 0, max: 2, noNaN: true }), (seed, gradScale) => {
      const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.95, 1e-8, 0.1];
      const w0 = values(6, seed);
      const x = tf.variable(tf.tensor2d(w0, [2, 3]));
      const opt = new AdamW([x], { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, epsilonPlacement: 'pytorch' });
      const w = Array.from(w0);
      const m = w.map(() => 0);
      const v = w.map(() => 0);
      for (let t = 1; t <= 3; t++) {
        const g = values(6, seed + t);
        const gt = tf.tensor2d(g, [2, 3]);
        opt.applyGradients([gt], lr, gradScale);
        gt.dispose();
        w.forEach((wj, j) => {
          const gj = Math.fround(g[j] as number * Math.fround(gradScale));
          m[j] = b1 * (m[j] as number) + (1 - b1) * gj;
          v[j] = b2 * (v[j] as number) + (1 - b2) * gj * gj;
          w[j] = wj * (1 - lr * wd) - (lr * ((m[j] as number) / (1 - b1 ** t))) / (Math.sqrt((v[j] as number) / (1 - b2 ** t)) + eps);
        });
      }
      expectClose([x.dataSync() as Float32Array], [Float32Array.from(w)], 1e-5);
      expect(() => opt.applyGradients([x], lr, Number.NaN)).toThrow(InputError);
      expect(() => opt.applyGradients([x], lr, -1)).toThrow(/gradScale/);
      opt.dispose();
      x.dispose();
    }), { numRuns: 20 });
  });

  it('leave no tensors behind', () => {
    const x = tf.tensor2d(values(12, 1), [3, 4]);
    const [g, b] = [tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D];
    const ids = tf.tensor1d([1, 0, 3], 'int32');
    const [q, kT, v, bias] = [tf.reshape(x, [3, 1, 4]), tf.reshape(x, [3, 4, 1]), tf.reshape(x, [3, 1, 4]), tf.zeros([1, 1, 1, 1])] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor4D];
    expectNoLeaks(() => {
      const [logp, lse] = ops.logProbsForward(x, ids);
      const [y, xhat, rstd] = ops.layerNormForward(x, g, b, 1e-5);
      tf.dispose([ops.transpose2d(x), ops.columnSums(x), ops.sumOfSquares([x, g]), ...ops.geluForward(x), ops.gatherRows(x, ids)]);
      tf.dispose([...ops.layerNormBackward(x, xhat, rstd, g), ops.logProbsBackward(lse, x, lse, ids)]);
      tf.dispose([y, xhat, rstd, logp, lse]);
      tf.dispose(ops.adamwUpdate(x, x, x, x, { c1: 0.1, c2: 0.1, stepSize: 1, eps: 1e-8, decay: 0.5, gradScale: 0.5 }));
      tf.dispose(ops.decodeAttention(q, kT, v, bias, 3));
    });
    tf.dispose([x, g, b, ids, q, kT, v, bias]);
  });

  it("a policy's loss and every gradient agree with the kernels on and off (1e-4)", () => {
    const policy = new TransformerPolicy({ vocabSize: 23, contextLength: 16, dModel: 16, nHead: 2, nLayer: 2, seed: 3 });
    const B = 3;
    const T = 9;
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 23);
    const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i / T | 0) ? 1 : 0));
    const batch = { ids, mask, batch: B, length: T };
    const vars = policy.trainableVariables;
    const lossAndGrads = (): tf.Tensor[] => {
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(policy.tokenLogProbs(batch, { from: 1 }))) as tf.Scalar, vars);
      return [value, ...vars.map((v) => grads[v.name] as tf.Tensor)];
    };
    expectClose(...bothWays(lossAndGrads), 1e-4);
    policy.dispose();
  });
});
