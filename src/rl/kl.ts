/**
 * Per-token KL estimators between the policy and a reference policy, from the log-probabilities of
 * the sampled tokens (Schulman, "Approximating KL Divergence", 2020), as used for the RLHF KL penalty.
 * @module
 */
import { tf } from '../tf';
import { ConfigError } from '../errors';
import type { InputError } from '../errors';
import { checkSameShape, checkTensor } from './internal';

/**
 * Which per-token estimator of `KL(pi || pi_ref)` to use, with `logr = logp_ref - logp` for a token
 * sampled from `pi`:
 * - `'k1'`: `-logr`. Unbiased; a single token's value can be negative.
 * - `'k2'`: `logr^2 / 2`. Always >= 0; biased (low variance, exact to second order).
 * - `'k3'`: `exp(logr) - 1 - logr`. Unbiased and always >= 0.
 */
export type KlEstimator = 'k1' | 'k2' | 'k3';

/**
 * Per-token KL penalty estimate between the policy and the reference, for tokens sampled from the
 * policy: see {@link KlEstimator}. The recipe's `objective/kl` is `mean_b sum_t` of this over real
 * tokens. `k3` is computed as `expm1(logr) - logr` and clamped at 0, so float rounding never makes
 * it negative. Elementwise and differentiable; mask the result yourself (e.g. `perTokenRewards`
 * ignores padded positions).
 *
 * @param logProbs - log-probabilities of the sampled tokens under the policy, any shape (typically `[B, T]`).
 * @param refLogProbs - log-probabilities of the same tokens under the reference policy, same shape.
 * @param estimator - `'k1'`, `'k2'` or `'k3'`. Default `'k1'` (TRL's default).
 * @returns a new float32 tensor of the input shape.
 * @throws {@link InputError} if the shapes differ.
 * @throws {@link ConfigError} for an unknown estimator.
 */
export function klPenalty(logProbs: tf.Tensor, refLogProbs: tf.Tensor, estimator: KlEstimator = 'k1'): tf.Tensor {
  if (estimator !== 'k1' && estimator !== 'k2' && estimator !== 'k3') {
    throw new ConfigError('estimator', estimator, "must be 'k1', 'k2' or 'k3'");
  }
  checkTensor('logProbs', logProbs);
  checkSameShape('refLogProbs', refLogProbs, 'logProbs', logProbs);
  return tf.tidy(() => {
    const logr = tf.sub(refLogProbs, logProbs); // [B, T]
    if (estimator === 'k1') return tf.neg(logr); // [B, T]
    if (estimator === 'k2') return tf.mul(tf.scalar(0.5), tf.square(logr)); // [B, T]
    return tf.maximum(tf.sub(tf.expm1(logr), logr), tf.scalar(0)); // [B, T]
  });
}
