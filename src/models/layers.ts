/**
 * Building blocks with hand-written backward passes. On the wasm backend only plain 2D matMul (no
 * transpose flags) is fast, so every matmul here, forward and backward, is a plain 2D product with
 * explicit transposes; batched products are split into 2D ones on wasm.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { splitBmm, useSplitBmm } from '../backends/wasm-bmm';
import {
  columnSums, gatherRows, geluBackward, geluForward, layerNormBackward, layerNormForward, logProbsBackward,
  logProbsForward, transpose2d,
} from '../backends/fused-ops';

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
        mm(dy, transpose2d(ws)), //  [N, in]
        mm(transpose2d(xs), dy), //  [in, out]
        columnSums(dy), //           [out]
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
      return [mm(dy, transpose2d(ws)), mm(transpose2d(xs), dy)];
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

/** GELU, tanh approximation (GPT-2's `gelu_new`), with a fused backward. */
export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, th] = geluForward(x);
  save([x, th]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [geluBackward(dy, saved[0] as tf.Tensor, saved[1] as tf.Tensor)],
  };
}) as AnyGradFunc) as (x: tf.Tensor) => tf.Tensor;

/** LayerNorm over the last axis of `x: [N, d]` with a fused backward. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  return tf.customGrad(((xs: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [y, xhat, rstd] = layerNormForward(xs, g, b, eps); //           [N, d], [N, d], [N, 1]
    save([xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xh, rs, gs] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        return layerNormBackward(dy, xh, rs, gs); //                       [dx, dgamma, dbeta]
      },
    };
  }) as AnyGradFunc)(x, gamma, beta) as tf.Tensor2D;
}

/** Embedding lookup `table[ids]` (`[n, d]`, int32 `[N]` -> `[N, d]`); the table's gradient is a segment sum. */
export function embed(table: tf.Tensor, ids: tf.Tensor1D): tf.Tensor2D {
  const n = table.shape[0] as number;
  return tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([ids]); // kept for the backward (the forward's tidy would free a captured tensor)
    return {
      value: gatherRows(t, ids),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.unsortedSegmentSum(dy, saved[0] as tf.Tensor1D, n),
    };
  }) as AnyGradFunc)(table) as tf.Tensor2D;
}

/**
 * Log-probability of `targets[i]` under row `i` of `softmax(logits / temperature)`, with a fused
 * backward (`onehot - softmax`). `logits: [N, V]`, `targets: N` ids -> `[N]`.
 */
export function gatherLogProbs(logits: tf.Tensor2D, targets: ArrayLike<number>, temperature = 1): tf.Tensor1D {
  const scaled = temperature === 1 ? logits : tf.div(logits, temperature); //      [N, V]
  const ids = tf.tensor1d(Int32Array.from(targets), 'int32'); //                    [N]
  return tf.customGrad(((l: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const [logp, lse] = logProbsForward(l, ids); //                                  [N], [N]
    save([l, lse, ids]);
    return {
      value: logp,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const [ls, lses, t] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        return logProbsBackward(dy, ls, lses, t);
      },
    };
  }) as AnyGradFunc)(scaled) as tf.Tensor1D;
}
