/**
 * Building blocks with hand-written backward passes. On the wasm backend only plain 2D matMul (no
 * transpose flags) is fast, so every matmul here, forward and backward, is a plain 2D product with
 * explicit transposes; batched products are split into 2D ones on wasm.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { splitBmm, useSplitBmm } from '../backends/wasm-bmm';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyGradFunc = (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: any, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };


/** `x @ w` for 2D tensors, computed as a plain (non-transposed) 2D product on every backend. */
function mm(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);
}

/** `y = x @ w + b` for `x: [N, in]`, `w: [in, out]`, `b: [out]` (GPT-2 Conv1D layout). */
export const linear = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(mm(x, w), b), // [N, out]
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [
        mm(dy, tf.transpose(ws)), //  [N, in]
        mm(tf.transpose(xs), dy), //  [in, out]
        tf.sum(dy, 0), //             [out]
      ];
    },
  };
}) as AnyGradFunc) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** `y = x @ w` without bias, for `x: [N, in]`, `w: [in, out]`. */
export const matmul2d = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: mm(x, w),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [mm(dy, tf.transpose(ws)), mm(tf.transpose(xs), dy)];
    },
  };
}) as AnyGradFunc) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** Below this many rows per group (e.g. one query token while decoding) the built-in kernel is faster. */
const SPLIT_MIN_ROWS = 8;

function bmmForward(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return a.shape[1] >= SPLIT_MIN_ROWS && useSplitBmm() ? splitBmm(a, b) : tf.matMul(a, b);
}

/** Batched product `a @ b` for `a: [G, M, K]`, `b: [G, K, N]` -> `[G, M, N]`. */
export const bmm = tf.customGrad(((a: tf.Tensor3D, b: tf.Tensor3D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: bmmForward(a, b),
    gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [
        bmmForward(dy, tf.transpose(bs, [0, 2, 1])), // [G, M, K]
        bmmForward(tf.transpose(as, [0, 2, 1]), dy), // [G, K, N]
      ];
    },
  };
}) as AnyGradFunc) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor3D;

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (GPT-2's `gelu_new`), with a fused backward. */
export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const x3 = tf.mul(tf.mul(x, x), x);
  const th = tf.tanh(tf.mul(tf.add(x, tf.mul(x3, 0.044715)), GELU_C)); // tanh(c (x + a x^3))
  save([x, th]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(th, 1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, t] = saved as [tf.Tensor, tf.Tensor];
      // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
      const sech2 = tf.sub(1, tf.mul(t, t));
      const inner = tf.mul(tf.add(tf.mul(tf.mul(xs, xs), 3 * 0.044715), 1), GELU_C);
      const d = tf.add(tf.mul(tf.add(t, 1), 0.5), tf.mul(tf.mul(tf.mul(xs, 0.5), sech2), inner));
      return [tf.mul(dy, d)];
    },
  };
}) as AnyGradFunc) as (x: tf.Tensor) => tf.Tensor;

/** LayerNorm over the last axis of `x: [N, d]` with a fused backward. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  return layerNormOp(x, gamma, beta, tf.scalar(eps));
}

const layerNormOp = tf.customGrad(((x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsT: tf.Scalar, save: tf.GradSaveFunc) => {
  const mean = tf.mean(x, 1, true); //                                  [N, 1]
  const xc = tf.sub(x, mean); //                                         [N, d]
  const variance = tf.mean(tf.mul(xc, xc), 1, true); //                  [N, 1]
  const rstd = tf.rsqrt(tf.add(variance, epsT)); //                      [N, 1]
  const xhat = tf.mul(xc, rstd); //                                      [N, d]
  save([xhat, rstd, gamma]);
  return {
    value: tf.add(tf.mul(xhat, gamma), beta) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [xh, rs, g] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
      const dxhat = tf.mul(dy, g); //                                     [N, d]
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
      const m1 = tf.mean(dxhat, 1, true);
      const m2 = tf.mean(tf.mul(dxhat, xh), 1, true);
      const dx = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xh, m2)), rs);
      return [dx, tf.sum(tf.mul(dy, xh), 0), tf.sum(dy, 0), tf.zerosLike(epsT)];
    },
  };
}) as AnyGradFunc) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: tf.Tensor) => tf.Tensor2D;

const selectedLogProbs = tf.customGrad(((logits: tf.Tensor2D, onehot: tf.Tensor2D, save: tf.GradSaveFunc) => {
  const lse = tf.logSumExp(logits, 1, true); //                                   [N, 1]
  save([logits, lse, onehot]);
  return {
    value: tf.sub(tf.sum(tf.mul(logits, onehot), 1), tf.reshape(lse, [-1])), //  [N]
    gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
      const [l, s, oh] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const softmax = tf.exp(tf.sub(l, s)); //                                     [N, V]
      return [tf.mul(tf.sub(oh, softmax), tf.expandDims(dy, 1)), tf.zerosLike(oh)];
    },
  };
}) as AnyGradFunc) as (logits: tf.Tensor, onehot: tf.Tensor) => tf.Tensor1D;

/**
 * Log-probability of `targets[i]` under row `i` of `softmax(logits / temperature)`, with a fused
 * backward (`onehot - softmax`). `logits: [N, V]`, `targets: N` ids -> `[N]`.
 */
export function gatherLogProbs(logits: tf.Tensor2D, targets: ArrayLike<number>, temperature = 1): tf.Tensor1D {
  const v = logits.shape[1];
  const scaled = temperature === 1 ? logits : tf.div(logits, temperature); //      [N, V]
  // tfjs-backend-wasm 4.22's OneHot ignores a float32 dtype (writes int bits): build int32, then cast.
  const onehot = tf.cast(tf.oneHot(tf.tensor1d(Array.from(targets), 'int32'), v), 'float32'); // [N, V]
  return selectedLogProbs(scaled, onehot);
}
