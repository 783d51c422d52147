/**
 * One optimisation step shared by every trainer: loss and gradients in one `tf.tidy`, global-norm
 * clipping, a finiteness check on the loss and the gradient norm (a NaN never reaches the weights), then
 * AdamW. Only the returned numbers leave the step; `tf.memory().numTensors` is unchanged afterwards.
 * @module
 */
import { tf } from '../tf';
import { NonFiniteError } from '../errors';
import type { AdamW } from '../optim/adamw';
import { globalNorm } from '../optim/clip';
import { applySparsityMasks } from '../compress/sparsity';

/** Options of {@link optimizerStep}. */
export interface OptimizerStepOptions {
  /** Clip the global gradient norm to this; `Infinity` disables clipping. */
  maxGradNorm: number;
  /** Learning rate of this step. */
  learningRate: number;
  /** Named in errors, e.g. `"LMTrainer step 12"`. */
  where: string;
}

/** What {@link optimizerStep} returns. */
export interface OptimizerStepResult {
  /** The loss before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Values of the extra metric tensors returned by the loss function, flattened. */
  metrics: Record<string, number[]>;
}

/**
 * A loss function for {@link optimizerStep}: returns the scalar loss to minimise and, optionally,
 * extra metric scalars computed from the same forward pass (they get no gradient).
 */
export type StepLossFn = () => StepLoss;

/** What a {@link StepLossFn} returns. */
export interface StepLoss {
  /** The scalar to minimise. */
  loss: tf.Scalar;
  /** Extra tensors from the same forward pass, read back as numbers (no gradient flows through them). */
  metrics?: Record<string, tf.Tensor>;
}

/** Computes gradients of `lossFn` w.r.t. `opt.variables`, checks them, clips and applies them. */
export async function optimizerStep(opt: AdamW, lossFn: StepLossFn, o: OptimizerStepOptions): Promise<OptimizerStepResult> {
  const vars = opt.variables as tf.Variable[];
  let metrics: Record<string, tf.Tensor> = {};
  const out = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const r = lossFn();
      metrics = r.metrics ?? {};
      for (const m of Object.values(metrics)) tf.keep(m);
      return r.loss;
    }, vars);
    const ordered = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    return { value, norm: globalNorm(ordered), grads: ordered };
  });
  try {
    const names = Object.keys(metrics);
    const read = await Promise.all([out.value.data(), out.norm.data(), ...names.map((n) => (metrics[n] as tf.Tensor).data())]);
    const loss = read[0]?.[0] as number;
    const gradNorm = read[1]?.[0] as number;
    if (!Number.isFinite(loss)) throw new NonFiniteError('loss', loss, o.where);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteError('gradient norm', gradNorm, o.where);
    // clip_grad_norm_'s factor, applied inside the update (as clipByGlobalNorm would, without copies)
    const scale = Number.isFinite(o.maxGradNorm) ? Math.min(1, o.maxGradNorm / (gradNorm + 1e-6)) : 1;
    opt.applyGradients(out.grads, o.learningRate, scale);
    applySparsityMasks(vars); // pruned weights under keepSparsity (src/compress) stay zero
    const values: Record<string, number[]> = {};
    names.forEach((n, i) => { values[n] = Array.from(read[i + 2] ?? []); });
    return { loss, gradNorm, metrics: values };
  } finally {
    tf.dispose([out.value, out.norm, ...out.grads, ...Object.values(metrics)]);
  }
}
