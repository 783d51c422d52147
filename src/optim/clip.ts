/**
 * Gradient clipping by global norm (TensorFlow.js has none). Semantics follow PyTorch's
 * `torch.nn.utils.clip_grad_norm_`.
 * @module
 */
import { tf } from '../tf';
import { ConfigError } from '../errors';
import { sumOfSquares as fusedSumOfSquares } from '../backends/fused-ops';

/** Result of {@link clipByGlobalNorm}. */
export interface ClipResult {
  /** The clipped gradients: new tensors, same order and shapes as the input. */
  grads: tf.Tensor[];
  /** The global norm of the gradients before clipping. */
  norm: tf.Scalar;
}

/**
 * The global L2 norm `sqrt(sum_i sum(g_i²))` of a list of float tensors (0 for an empty list).
 * Returns a new scalar tensor that the caller owns; intermediates are freed. Callable inside `tf.tidy`.
 * @param grads - the tensors, typically gradients; not disposed.
 */
export function globalNorm(grads: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(sumOfSquares(grads)) as tf.Scalar);
}

/**
 * `sum_i sum(g_i²)` of a list of float tensors (0 for an empty list): the square of {@link globalNorm},
 * for gradients held in several places whose partial sums are added (the PPO critic worker). Returns a
 * new scalar the caller owns; callable inside `tf.tidy`.
 */
export function sumOfSquares(grads: readonly tf.Tensor[]): tf.Scalar {
  return fusedSumOfSquares(grads);
}

/**
 * Scale a list of gradients so that their global norm is at most `maxNorm`, PyTorch style:
 * every gradient is multiplied by `scale = min(1, maxNorm / (norm + 1e-6))`, so gradients whose norm
 * is at most `maxNorm - 1e-6` come back numerically unchanged, and larger ones keep their direction.
 *
 * The returned tensors (gradients and norm) are new and owned by the caller; the inputs are not
 * disposed. Callable inside `tf.tidy`. If any gradient is NaN or infinite, the norm is non-finite
 * and so are the clipped gradients: check `norm` before applying them.
 *
 * @param grads - the gradients.
 * @param maxNorm - the largest allowed global norm; finite, > 0.
 * @throws {@link ConfigError} if `maxNorm` is not a finite number > 0.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): ClipResult {
  if (!(typeof maxNorm === 'number' && Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new ConfigError('maxNorm', maxNorm, 'must be a finite number > 0');
  }
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    const scale = tf.minimum(tf.scalar(1), tf.scalar(maxNorm).div(norm.add(tf.scalar(1e-6))));
    return { grads: grads.map((g) => g.mul(scale)), norm };
  });
}
