/**
 * Calibration statistics of block linear maps, read through {@link Transformer.linearTap} during plain
 * forward passes: per map, `Σ x xᵀ` over real (non-padding) tokens (SparseGPT's Hessian up to a scale,
 * accumulated in float64) and the largest |x| per input dimension (LLM.int8()'s outlier test).
 * @module
 */
import { tf } from '../tf';
import type { Transformer } from '../models/transformer';
import type { PaddedBatch } from '../models/batch';

/** Statistics of the inputs `x [N, dIn]` of one linear map. */
export interface LinearStats {
  /** Input width. */
  dIn: number;
  /** `Σ_tokens x xᵀ`, row-major `[dIn, dIn]`; empty unless asked for. */
  xtx: Float64Array;
  /** Largest |x| per input dimension, `[dIn]`. */
  absMax: Float32Array;
  /** Real tokens seen. */
  tokens: number;
}

/**
 * Runs `batches` through `model` and returns the input statistics of the maps named in `names`
 * (weight names, e.g. `h.0.mlp.c_fc.weight`). Leaves no tensors behind.
 */
export function collectStats(model: Transformer, batches: readonly PaddedBatch[], names: ReadonlySet<string>, withXtx: boolean): Map<string, LinearStats> {
  const stats = new Map<string, LinearStats>();
  let keep: tf.Tensor2D | undefined; //                                             [N, 1] 1 on real tokens
  let realTokens = 0;
  model.linearTap = (name, x) => {
    if (!names.has(name) || keep === undefined) return;
    const dIn = x.shape[1];
    let s = stats.get(name);
    if (s === undefined) {
      s = { dIn, xtx: new Float64Array(withXtx ? dIn * dIn : 0), absMax: new Float32Array(dIn), tokens: 0 };
      stats.set(name, s);
    }
    const xm = tf.mul(x, keep); //                                                   [N, dIn], padding rows 0
    const am = tf.max(tf.abs(xm), 0).dataSync(); //                                  [dIn]
    for (let j = 0; j < dIn; j++) s.absMax[j] = Math.max(s.absMax[j] as number, am[j] as number);
    if (withXtx) {
      const g = tf.matMul(tf.transpose(xm), xm).dataSync(); //                       [dIn, dIn]
      for (let k = 0; k < g.length; k++) s.xtx[k] = (s.xtx[k] as number) + (g[k] as number);
    }
    s.tokens += realTokens;
  };
  try {
    for (const batch of batches) {
      realTokens = batch.mask.reduce((a, m) => a + m, 0);
      tf.tidy(() => {
        keep = tf.tensor2d(Float32Array.from(batch.mask), [batch.batch * batch.length, 1]);
        model.forwardBatch(batch);
      });
    }
  } finally {
    model.linearTap = undefined;
    keep = undefined;
  }
  return stats;
}
