/**
 * Per-token RLHF rewards: the KL penalty on every real token plus the sequence score on the last one.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import type { ConfigError } from '../errors';
import type { klPenalty } from './kl';
import { checkNumber } from '../ops/validate';
import { binaryMask, checkRank2, checkSameShape, checkTensor, zeroPadding } from './internal';

/** Arguments of {@link perTokenRewards}. */
export interface PerTokenRewardsArgs {
  /** One score per sequence `[B]` (reward-model output, after any EOS penalty / normalisation). */
  scores: tf.Tensor;
  /** Per-token KL estimate `[B, T]` (from {@link klPenalty}). */
  kl: tf.Tensor;
  /** `[B, T]`; nonzero = real (response) token, 0 = padding. */
  mask: tf.Tensor;
  /** KL coefficient beta (e.g. a `KLController`'s `value`); finite, >= 0. */
  klCoef: number;
}

/**
 * Per-token rewards (the recipe's point 1): `r_t = -klCoef * kl_t` on every real token, plus
 * `scores[b]` added at the **last real token** of row `b` (the last position whose mask is
 * nonzero, wherever the padding is). Padded positions are exactly 0, whatever `kl` holds there. A
 * row with no real token is all zeros (its score is dropped). Pure tensor ops.
 *
 * @param args - see {@link PerTokenRewardsArgs}.
 * @returns a new float32 tensor `[B, T]`.
 * @throws {@link InputError} if the shapes do not fit (`kl`/`mask` `[B, T]`, `scores` `[B]`).
 * @throws {@link ConfigError} if `klCoef` is not a finite number >= 0.
 */
export function perTokenRewards(args: PerTokenRewardsArgs): tf.Tensor2D {
  const klCoef = checkNumber('klCoef', args.klCoef, { ge: 0 });
  const { scores, kl, mask } = args;
  checkRank2('kl', kl);
  checkSameShape('mask', mask, 'kl', kl);
  checkTensor('scores', scores);
  const [B, T] = kl.shape;
  if (scores.rank !== 1 || scores.shape[0] !== B) {
    throw new InputError('scores', scores.shape, `must have shape [B] = [${B}]`);
  }
  return tf.tidy(() => {
    const m = binaryMask(mask); // [B, T]
    const positions = tf.range(0, T, 1, 'float32').reshape([1, T]); // [1, T]
    const realPos = tf.where(tf.cast(m, 'bool'), tf.mul(m, positions), tf.fill([B, T], -1)); // [B, T]
    const last = tf.max(realPos, 1, true); // [B, 1], -1 for an all-padding row
    const isLast = tf.cast(tf.equal(positions, last), 'float32'); // [B, T]
    const penalty = tf.mul(tf.scalar(-klCoef), zeroPadding(tf.cast(kl, 'float32'), m)); // [B, T]
    const score = tf.mul(isLast, tf.reshape(tf.cast(scores, 'float32'), [B, 1])); // [B, T]
    return zeroPadding(tf.add(penalty, score), m) as tf.Tensor2D; // [B, T]
  });
}
