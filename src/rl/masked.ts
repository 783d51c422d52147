/**
 * Masked statistics over real tokens (or environment steps) only: mean, variance and whitening.
 *
 * Masks: every nonzero entry marks a real token, zero marks padding. Padded entries of `x` never
 * reach a result, even when they are NaN or infinite. All functions are pure tensor ops (no
 * synchronous reads, so they run on every backend), return new tensors owned by the caller, free
 * their intermediates, and are callable inside `tf.tidy` and inside gradient functions.
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';
import { binaryMask, checkSameShape, checkTensor, zeroPadding } from './internal';

/** Epsilon added to the variance before the reciprocal square root in {@link maskedWhiten}. */
export const WHITEN_EPSILON = 1e-8;

/** Sum of `x` over real entries divided by their count, where a count of 0 gives 0 (no NaN). */
function meanOfMasked(xm: tf.Tensor, m: tf.Tensor, axis?: number): tf.Tensor {
  const total = tf.sum(xm, axis); // scalar, or x's shape without `axis`
  const count = tf.sum(m, axis); // same shape as total
  return tf.div(total, tf.maximum(count, tf.scalar(1))); // same shape as total
}

function checkAxis(axis: number | undefined, rank: number): void {
  if (axis === undefined) return;
  if (!(Number.isInteger(axis) && axis >= -rank && axis < rank)) {
    throw new InputError('axis', axis, `must be an integer in [${-rank}, ${rank - 1}] for a rank-${rank} x`);
  }
}

/**
 * Mean of `x` over its real entries: `sum(x * mask) / sum(mask)`.
 *
 * With `axis` undefined the mean is over all elements and the result is a scalar; with `axis` it is
 * taken along that axis only (e.g. `axis = 1` on `[B, T]` gives the per-row mean `[B]`). A group
 * with no real entry (an all-padding row, or an all-zero mask) has mean 0, not NaN, and a finite
 * gradient.
 *
 * @param x - the values, float32, any shape (typically `[B, T]`).
 * @param mask - same shape as `x`; nonzero = real, 0 = padding.
 * @param axis - axis to reduce; negative counts from the end. Default: all axes.
 * @returns a new tensor: a scalar, or `x`'s shape without `axis`.
 * @throws {@link InputError} if the shapes differ or `axis` is out of range.
 */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor, axis?: number): tf.Tensor {
  checkTensor('x', x);
  checkSameShape('mask', mask, 'x', x);
  checkAxis(axis, x.rank);
  return tf.tidy(() => {
    const m = binaryMask(mask); // [B, T]
    return meanOfMasked(zeroPadding(x, m), m, axis);
  });
}

/** Mean and variance over all real entries; `m` is the 0/1 float32 mask. */
function meanAndVar(x: tf.Tensor, m: tf.Tensor, unbiased: boolean): [tf.Scalar, tf.Scalar] {
  const xm = zeroPadding(x, m); // [B, T]
  const mean = meanOfMasked(xm, m) as tf.Scalar; // scalar
  const centered = zeroPadding(tf.sub(xm, mean), m); // [B, T]
  let variance = meanOfMasked(tf.square(centered), m) as tf.Scalar; // scalar
  if (unbiased) {
    const n = tf.sum(m); // scalar
    // n / (n - 1) for n >= 2; for n <= 1 the biased variance is already 0 and so is the result.
    const bessel = tf.div(n, tf.maximum(tf.sub(n, tf.scalar(1)), tf.scalar(1))); // scalar
    variance = tf.mul(variance, bessel);
  }
  return [mean, variance];
}

/**
 * Variance of `x` over all its real entries (a scalar), TRL `masked_var` semantics.
 *
 * `unbiased = true` (the default, as in TRL) applies Bessel's correction: the sum of squared
 * deviations from the masked mean is divided by `n - 1`, where `n` is the number of real entries;
 * `unbiased = false` divides by `n`. Where TRL raises on a zero mask sum, this returns 0 whenever
 * `n <= 1` (no spread can be measured from one sample), so it never produces NaN and never reads
 * tensor data.
 *
 * @param x - the values, float32, any shape (typically `[B, T]`).
 * @param mask - same shape as `x`; nonzero = real, 0 = padding.
 * @param unbiased - divide by `n - 1` (true) or by `n` (false). Default `true`.
 * @returns a new scalar tensor.
 * @throws {@link InputError} if the shapes differ.
 */
export function maskedVar(x: tf.Tensor, mask: tf.Tensor, unbiased = true): tf.Scalar {
  checkTensor('x', x);
  checkSameShape('mask', mask, 'x', x);
  return tf.tidy(() => meanAndVar(x, binaryMask(mask), unbiased)[1]);
}

/**
 * Whitening over real entries, TRL `masked_whiten` semantics:
 * `(x - mean) * rsqrt(var + 1e-8)` with the masked mean and the unbiased (Bessel-corrected, see
 * {@link maskedVar}) masked variance over all real entries of the batch. With `shiftMean = false`
 * the mean is added back, so only the scale changes (the recipe's option for rewards).
 *
 * Padded positions of the output are exactly 0. With fewer than two real entries the variance is 0
 * and each real output is `(x - mean) * 1e4`, i.e. 0 for a single entry (plus the mean when
 * `shiftMean` is false).
 *
 * @param x - the values, float32, any shape (typically advantages `[B, T]`).
 * @param mask - same shape as `x`; nonzero = real, 0 = padding.
 * @param shiftMean - subtract the mean (true) or keep it (false). Default `true`.
 * @returns a new tensor of `x`'s shape.
 * @throws {@link InputError} if the shapes differ.
 */
export function maskedWhiten(x: tf.Tensor, mask: tf.Tensor, shiftMean = true): tf.Tensor {
  checkTensor('x', x);
  checkSameShape('mask', mask, 'x', x);
  return tf.tidy(() => {
    const m = binaryMask(mask); // [B, T]
    const [mean, variance] = meanAndVar(x, m, true); // scalar, scalar
    const scale = tf.rsqrt(tf.add(variance, tf.scalar(WHITEN_EPSILON))); // scalar
    let out = tf.mul(tf.sub(x, mean), scale); // [B, T]
    if (!shiftMean) out = tf.add(out, mean); // [B, T]
    return zeroPadding(out, m); // [B, T]
  });
}
