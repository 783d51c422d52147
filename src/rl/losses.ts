/**
 * PPO losses (Schulman et al. 2017) as functions of tensors, for any policy: a language model, an
 * MLP over observations, anything that gives per-step log-probabilities and values. Semantics and
 * metric definitions follow Hugging Face TRL (`PPOTrainer`) and CleanRL.
 *
 * All functions return new tensors owned by the caller, free their intermediates, and are callable
 * inside `tf.tidy` and inside gradient functions (`tf.variableGrads`, `optimizer.minimize`). Inside
 * a gradient function, `tf.keep` the metrics you want to read afterwards.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { ConfigError } from '../errors';
import type { gae } from './gae';
import { checkNumber } from '../ops/validate';
import { binaryMask, checkSameShape, checkTensor, stopGradient, zeroPadding } from './internal';
import { maskedMean } from './masked';

/** Arguments of {@link ppoPolicyLoss}. */
export interface PpoPolicyLossArgs {
  /** Log-probabilities of the taken actions under the current policy `[B, T]`; the only input that receives gradient. */
  logProbs: tf.Tensor;
  /** Log-probabilities of the same actions at rollout time `[B, T]`; treated as a constant. */
  oldLogProbs: tf.Tensor;
  /** Advantages `[B, T]` (usually whitened); treated as a constant. */
  advantages: tf.Tensor;
  /** `[B, T]`; nonzero = real step, 0 = padding. */
  mask: tf.Tensor;
  /** PPO clip range epsilon; finite, > 0. Default `0.2`. */
  clipRange?: number;
}

/** Result of {@link ppoPolicyLoss}: new scalar tensors owned by the caller. */
export interface PpoPolicyLossResult {
  /** Clipped surrogate loss: masked mean of `max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps))`. */
  loss: tf.Scalar;
  /**
   * Fraction of real steps where the clipped term is chosen strictly, i.e.
   * `-A * clip(ratio) > -A * ratio` (TRL `policy/clipfrac_avg`): the steps whose gradient is zero.
   * Steps with `A = 0` or with the ratio inside the range (ties) do not count.
   */
  clipFrac: tf.Scalar;
  /** `0.5 * masked mean of (logp - logp_old)^2` (TRL `policy/approxkl_avg`); 0 exactly when the log-probs match. */
  approxKl: tf.Scalar;
  /** Masked mean of `(ratio - 1) - log(ratio)` (CleanRL `approx_kl`, Schulman's k3 estimator of KL(old || new)); >= 0. */
  approxKlK3: tf.Scalar;
  /** Masked mean of `ratio = exp(logp - logp_old)` (TRL `val/ratio`); 1 exactly when the log-probs match. */
  ratio: tf.Scalar;
}

/**
 * The PPO clipped surrogate policy loss and its diagnostics.
 *
 * `ratio = exp(logp - logp_old)`, `loss = maskedMean(max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps)))`.
 * Gradient flows to `logProbs` only (`oldLogProbs` and `advantages` pass through a gradient stop).
 * Where the clipped term is chosen strictly the gradient is exactly 0; on ties (ratio inside the
 * range) it is the unclipped gradient. With `logProbs` equal to `oldLogProbs` the ratio is exactly
 * 1, `approxKl` exactly 0, `clipFrac` 0 and `loss` equals `-maskedMean(A)` (the recipe's point 6).
 * Padded steps are ignored, even if they hold NaN or infinite values, and get exactly zero gradient.
 *
 * @param args - see {@link PpoPolicyLossArgs}.
 * @returns see {@link PpoPolicyLossResult}.
 * @throws {@link InputError} if a tensor is missing or the shapes differ.
 * @throws {@link ConfigError} if `clipRange` is not a finite number > 0.
 */
export function ppoPolicyLoss(args: PpoPolicyLossArgs): PpoPolicyLossResult {
  const eps = checkNumber('PpoPolicyLossArgs.clipRange', args.clipRange ?? 0.2, { gt: 0 });
  const { logProbs, oldLogProbs, advantages, mask } = args;
  checkTensor('logProbs', logProbs);
  checkSameShape('oldLogProbs', oldLogProbs, 'logProbs', logProbs);
  checkSameShape('advantages', advantages, 'logProbs', logProbs);
  checkSameShape('mask', mask, 'logProbs', logProbs);
  const [loss, clipFrac, approxKl, approxKlK3, ratio] = tf.tidy(() => {
    const m = binaryMask(mask); // [B, T]
    const adv = zeroPadding(stopGradient(advantages), m); // [B, T]
    const logRatio = tf.sub(zeroPadding(logProbs, m), zeroPadding(stopGradient(oldLogProbs), m)); // [B, T]
    const r = tf.exp(logRatio); // [B, T]
    const unclipped = tf.mul(tf.neg(adv), r); // [B, T]
    const clipped = tf.mul(tf.neg(adv), tf.clipByValue(r, 1 - eps, 1 + eps)); // [B, T]
    const pg = tf.maximum(unclipped, clipped); // [B, T]; ties send the gradient to `unclipped`
    const chosenClipped = tf.cast(tf.greater(clipped, unclipped), 'float32'); // [B, T]
    const k3 = tf.sub(tf.expm1(logRatio), logRatio); // [B, T]
    return [
      maskedMean(pg, mask),
      maskedMean(chosenClipped, mask),
      tf.mul(tf.scalar(0.5), maskedMean(tf.square(logRatio), mask)),
      maskedMean(tf.maximum(k3, tf.scalar(0)), mask),
      maskedMean(r, mask),
    ] as tf.Scalar[];
  }) as [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar];
  return { loss, clipFrac, approxKl, approxKlK3, ratio };
}

/** Arguments of {@link ppoValueLoss}. */
export interface PpoValueLossArgs {
  /** Value predictions of the current critic `[B, T]`; the only input that receives gradient. */
  values: tf.Tensor;
  /** Value predictions at rollout time `[B, T]`; treated as a constant. */
  oldValues: tf.Tensor;
  /** Value targets `[B, T]` (the `returns` of {@link gae}); treated as a constant. */
  returns: tf.Tensor;
  /** `[B, T]`; nonzero = real step, 0 = padding. */
  mask: tf.Tensor;
  /** Value clip range epsilon_v; finite, > 0. Default `0.2`. */
  clipRangeValue?: number;
}

/** Result of {@link ppoValueLoss}: new scalar tensors owned by the caller. */
export interface PpoValueLossResult {
  /** `0.5 * masked mean of max((V - R)^2, (V_old + clip(V - V_old, -eps_v, eps_v) - R)^2)`. */
  loss: tf.Scalar;
  /** Fraction of real steps where the clipped squared error is strictly larger (TRL `val/clipfrac_avg`). */
  clipFrac: tf.Scalar;
}

/**
 * The PPO clipped value loss (TRL / OpenAI `lm-human-preferences` form):
 * `0.5 * maskedMean(max((V - R)^2, (V_old + clip(V - V_old, -eps_v, eps_v) - R)^2))`.
 * Gradient flows to `values` only. Multiply by the value-function coefficient (0.1 in the recipe)
 * yourself when adding it to the policy loss.
 *
 * @param args - see {@link PpoValueLossArgs}.
 * @returns see {@link PpoValueLossResult}.
 * @throws {@link InputError} if a tensor is missing or the shapes differ.
 * @throws {@link ConfigError} if `clipRangeValue` is not a finite number > 0.
 */
export function ppoValueLoss(args: PpoValueLossArgs): PpoValueLossResult {
  const eps = checkNumber('PpoValueLossArgs.clipRangeValue', args.clipRangeValue ?? 0.2, { gt: 0 });
  const { values, oldValues, returns, mask } = args;
  checkTensor('values', values);
  checkSameShape('oldValues', oldValues, 'values', values);
  checkSameShape('returns', returns, 'values', values);
  checkSameShape('mask', mask, 'values', values);
  const [loss, clipFrac] = tf.tidy(() => {
    const m = binaryMask(mask); // [B, T]
    const v = zeroPadding(values, m); // [B, T]
    const old = zeroPadding(stopGradient(oldValues), m); // [B, T]
    const ret = zeroPadding(stopGradient(returns), m); // [B, T]
    const vClipped = tf.add(old, tf.clipByValue(tf.sub(v, old), -eps, eps)); // [B, T]
    const l1 = tf.square(tf.sub(v, ret)); // [B, T]
    const l2 = tf.square(tf.sub(vClipped, ret)); // [B, T]
    return [
      tf.mul(tf.scalar(0.5), maskedMean(tf.maximum(l1, l2), mask)),
      maskedMean(tf.cast(tf.greater(l2, l1), 'float32'), mask),
    ] as tf.Scalar[];
  }) as [tf.Scalar, tf.Scalar];
  return { loss, clipFrac };
}

/**
 * Entropy of the categorical distribution `softmax(logits)` along the last axis, in nats:
 * `-sum_v p_v log p_v` (TRL `objective/entropy` per token). Entries with probability 0 (e.g.
 * `-Infinity` logits of masked-out actions) contribute 0, in the value and in the gradient.
 *
 * @param logits - `[..., V]` float32 unnormalised log-probabilities, rank >= 1.
 * @returns a new tensor `[...]` (the input shape without the last axis); differentiable.
 * @throws {@link InputError} if `logits` is not a tensor of rank >= 1.
 */
export function entropyFromLogits(logits: tf.Tensor): tf.Tensor {
  checkTensor('logits', logits);
  if (logits.rank < 1) throw new InputError('logits', logits.shape, 'must have rank >= 1 (last axis = actions)');
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1); // [..., V]
    const p = tf.exp(logp); // [..., V]
    // -Infinity -> -1e30, so that p * log p is 0 * finite = 0, in the value and in the gradient
    // (a comparison op on the gradient path would have no gradient in TensorFlow.js).
    const safeLogp = tf.maximum(logp, tf.scalar(-1e30)); // [..., V]
    return tf.neg(tf.sum(tf.mul(p, safeLogp), -1)); // [...]
  });
}
