// The hand-written backward passes must equal tfjs autograd of the plain formulas.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { bmm, gatherLogProbs, gelu, layerNorm, linear, matmul2d } from '../../src/models/layers';
import { setupBackend } from '../helpers/backend';
import { Rng } from '../../src/ops/random';

beforeAll(setupBackend);

function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** Gradients of sum(f(...) * w) w.r.t. every input, for a random projection w. */
function grads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): tf.Tensor[] {
  return tf.tidy(() => {
    const out = f(...xs);
    const w = rand(out.shape, seed);
    return tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), w)))(xs);
  });
}

const dims = fc.integer({ min: 1, max: 7 });

describe('custom-gradient layers', () => {
  it('linear and matmul2d match autograd', () => {
    fc.assert(fc.property(dims, dims, dims, fc.integer(), (n, i, o, seed) => {
      const [x, w, b] = [rand([n, i], seed), rand([i, o], seed + 1), rand([o], seed + 2)];
      const custom = grads((a, c, d) => linear(a, c, d), [x, w, b], seed + 3);
      const plain = grads((a, c, d) => tf.add(tf.matMul(a, c), d), [x, w, b], seed + 3);
      custom.forEach((g, k) => expect(maxDiff(g, plain[k] as tf.Tensor)).toBeLessThan(1e-4));
      const c2 = grads((a, c) => matmul2d(a, c), [x, w], seed + 3);
      const p2 = grads((a, c) => tf.matMul(a, c), [x, w], seed + 3);
      c2.forEach((g, k) => expect(maxDiff(g, p2[k] as tf.Tensor)).toBeLessThan(1e-4));
      tf.dispose([x, w, b, ...custom, ...plain, ...c2, ...p2]);
    }), { numRuns: 15 });
  });

  it('bmm matches autograd of batched matMul', () => {
    fc.assert(fc.property(dims, dims, dims, dims, fc.integer(), (g, m, k, n, seed) => {
      const [a, b] = [rand([g, m, k], seed), rand([g, k, n], seed + 1)];
      const custom = grads((x, y) => bmm(x, y), [a, b], seed + 2);
      const plain = grads((x, y) => tf.matMul(x, y), [a, b], seed + 2);
      custom.forEach((t, i) => expect(maxDiff(t, plain[i] as tf.Tensor)).toBeLessThan(1e-4));
      tf.dispose([a, b, ...custom, ...plain]);
    }), { numRuns: 15 });
  });

  it('gelu matches the tanh formula and its autograd', () => {
    fc.assert(fc.property(dims, dims, fc.integer(), (n, d, seed) => {
      const x = tf.mul(rand([n, d], seed), 3);
      const ref = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.pow(t, 3)))))));
      const [gc] = grads((t) => gelu(t), [x], seed + 1);
      const [gp] = grads(ref, [x], seed + 1);
      expect(maxDiff(tf.tidy(() => gelu(x)), tf.tidy(() => ref(x)))).toBeLessThan(1e-5);
      expect(maxDiff(gc as tf.Tensor, gp as tf.Tensor)).toBeLessThan(1e-4);
      tf.dispose([x, gc as tf.Tensor, gp as tf.Tensor]);
    }), { numRuns: 15 });
  });

  it('layerNorm matches the plain formula and its autograd', () => {
    fc.assert(fc.property(dims, fc.integer({ min: 2, max: 9 }), fc.integer(), (n, d, seed) => {
      const [x, g, b] = [rand([n, d], seed), rand([d], seed + 1), rand([d], seed + 2)];
      const ref = (t: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        // tf.moments' own gradient is broken in tfjs-core 4.22 (Cast grad gets null); spell it out.
        const mean = tf.mean(t, 1, true);
        const variance = tf.mean(tf.square(tf.sub(t, mean)), 1, true);
        return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), gg), bb);
      };
      const custom = grads((t, gg, bb) => layerNorm(t, gg, bb, 1e-5), [x, g, b], seed + 3);
      const plain = grads(ref, [x, g, b], seed + 3);
      custom.forEach((t, i) => expect(maxDiff(t, plain[i] as tf.Tensor)).toBeLessThan(2e-3));
      tf.dispose([x, g, b, ...custom, ...plain]);
    }), { numRuns: 15 });
  });
});

describe('gatherLogProbs', () => {
  // Regression: tfjs-backend-wasm's OneHot ignores a float32 dtype; the result must still match logSoftmax.
  it('equals logSoftmax(logits / T) at the targets, with the same gradient', () => {
    fc.assert(fc.property(dims, fc.integer({ min: 2, max: 9 }), fc.double({ min: 0.3, max: 2, noNaN: true }), fc.integer(), (n, v, T, seed) => {
      const logits = tf.mul(rand([n, v], seed), 2);
      const rng = new Rng(seed + 1);
      const targets = Array.from({ length: n }, () => rng.int(v));
      const ref = (l: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(tf.div(l, T)), tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), v), 'float32')), 1);
      const got = tf.tidy(() => gatherLogProbs(logits as tf.Tensor2D, targets, T));
      const want = tf.tidy(() => ref(logits));
      expect(maxDiff(got, want)).toBeLessThan(1e-5);
      const [gc] = grads((l) => gatherLogProbs(l as tf.Tensor2D, targets, T), [logits], seed + 2);
      const [gp] = grads(ref, [logits], seed + 2);
      expect(maxDiff(gc as tf.Tensor, gp as tf.Tensor)).toBeLessThan(1e-4);
      tf.dispose([logits, got, want, gc as tf.Tensor, gp as tf.Tensor]);
    }), { numRuns: 20 });
  });
});
